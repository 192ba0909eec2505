"""Annotated dependencies the routes declare; handlers never touch request.app.state or the
ASGI scope. All async: FastAPI runs a sync dependency in a worker thread, a thread hop per
request on the hot path."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from serving.access.auth import presented_key
from serving.access.limits import Grant
from serving.consultation.service import ALIAS as CONSULTATION_ALIAS
from serving.consultation.service import ConsultationService
from serving.errors import APIError, InvalidAPIKey, ModelNotFound
from serving.gateway.endpoints import key_hash_of, read_json_body
from serving.gateway.record import RequestRecord
from serving.protocol import RequestBody
from serving.services import Services


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_record(request: Request) -> RequestRecord:
    record: RequestRecord = request.scope["state"]["record"]  # created by the gateway entry (serving/gateway/entry.py)
    return record


RecordDep = Annotated[RequestRecord, Depends(get_record)]


async def get_key_hash(request: Request, services: ServicesDep) -> str:
    """The presented key's hash: a 401 for a missing key comes before the body is read."""
    return key_hash_of(request.headers, services.metrics)


KeyHashDep = Annotated[str, Depends(get_key_hash)]


async def get_api_key(request: Request) -> str:
    """The caller's key itself, for consultation stages that call the façade as the caller."""
    return presented_key(request.headers) or ""


ApiKeyDep = Annotated[str, Depends(get_api_key)]


async def authenticate(services: Services, key_hash: str, record: RequestRecord) -> Grant:
    """The caller's key, checked without charging any limit (routes that generate nothing)."""
    grant = await services.admission.authenticate(key_hash)
    record.key_name = grant.name
    return grant


async def get_caller(services: ServicesDep, key_hash: KeyHashDep, record: RecordDep) -> Grant:
    return await authenticate(services, key_hash, record)


CallerDep = Annotated[Grant, Depends(get_caller)]


async def get_counted_caller(services: ServicesDep, key_hash: KeyHashDep, record: RecordDep) -> Grant:
    """The caller's key, the request counted against its request rate (reports that read the
    store: a key cannot query it without limit)."""
    grant = await services.admission.admit(key_hash, "", 0, generates=False)
    record.key_name = grant.name
    grant.raise_if_refused()
    record.response_headers.update(grant.headers)
    return grant


CountedCallerDep = Annotated[Grant, Depends(get_counted_caller)]


async def get_body(request: Request, services: ServicesDep, key_hash: KeyHashDep) -> RequestBody:
    """The body as a JSON object, read (bounded) and parsed once. A missing or unknown key gets
    its 401 before the body is read (a known key costs no store call here)."""
    return await read_json_body(
        request.headers, request.receive, services.admission, key_hash, services.config.server.max_request_bytes
    )


BodyDep = Annotated[RequestBody, Depends(get_body)]


async def get_consultations(services: ServicesDep, caller: CallerDep, record: RecordDep) -> ConsultationService:
    """The consultation service, for callers whose key grants the consultation alias."""
    record.alias = CONSULTATION_ALIAS
    if services.consultations is None or not caller.may_use(CONSULTATION_ALIAS):
        raise ModelNotFound(CONSULTATION_ALIAS)
    return services.consultations


ConsultationsDep = Annotated[ConsultationService, Depends(get_consultations)]


async def require_admin(services: ServicesDep, request: Request) -> None:
    """The admin credential (store.admin_key), not an API key."""
    expected = services.config.store.admin_key
    if not expected:
        raise APIError("The admin API is disabled: set store.admin_key.", status=403, code="admin_disabled")
    if not _bearer_is(request, expected):
        raise InvalidAPIKey("Incorrect admin credential.")


async def require_metrics_access(services: ServicesDep, request: Request) -> None:
    """/metrics: absent here when it has a port of its own; behind a bearer token if one is set."""
    server = services.config.server
    if server.metrics_port is not None:
        raise APIError(f"Invalid URL (GET {request.url.path})", status=404)
    if server.metrics_token is None:
        return
    if not _bearer_is(request, server.metrics_token):
        raise InvalidAPIKey("Incorrect metrics credential.")


def _bearer_is(request: Request, expected: str) -> bool:
    """`Authorization: Bearer <expected>`, compared in constant time."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())
