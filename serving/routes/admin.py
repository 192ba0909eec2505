"""/admin/keys, /admin/usage and /admin/audit, behind the admin credential (store.admin_key),
not an API key. Each handler names its action for the audit trail (request_record.audit_action)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field, model_validator

from serving.access.keys import KeyManagedByConfig, KeyNotFound, KeyRecord, new_key_id
from serving.access.tenants import TenantNotFound
from serving.access.usage import UsageRange
from serving.audit import reader
from serving.deps import RecordDep, ServicesDep, require_admin
from serving.errors import APIError, InvalidRequest, StoreUnavailable
from serving.gateway.record import RequestRecord
from serving.services import Services
from serving.settings import BACKEND_LISTS, KeySettings
from serving.settings.tenants import WidensTenant
from serving.store.errors import STORE_ERRORS

router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])


class KeyCreate(KeySettings):
    """A new key: a name, when it expires, and its settings (serving/settings/keys.py)."""

    name: str = Field(min_length=1, max_length=200)
    expires_at: int = Field(0, ge=0, description="unix seconds; 0 = never")


class KeyUpdate(KeySettings):
    """What changes: only the fields given (a null leaves a field as it is)."""

    name: str | None = Field(None, min_length=1, max_length=200)
    expires_at: int | None = Field(None, ge=0)
    disabled: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _nulls_change_nothing(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


def _check_backends(services: Services, body: KeyCreate | KeyUpdate) -> None:
    given = body.model_fields_set
    for grant in BACKEND_LISTS:
        unknown = sorted(set(getattr(body, grant) if grant in given else ()) - set(services.registry.backends))
        if unknown:
            raise InvalidRequest(f"Unknown backend(s) {unknown} in {grant}.", param=grant, code="invalid_value")


def _audit(request_record: RequestRecord, action: str, target: str | None = None) -> None:
    request_record.audit_action, request_record.audit_target = action, target


def _not_found(key_id: str) -> APIError:
    return APIError(f"No key with id `{key_id}`.", status=404, param="key_id", code="key_not_found")


@router.post("/keys", status_code=201)
async def create_key(body: KeyCreate, services: ServicesDep, request_record: RecordDep) -> dict[str, Any]:
    _check_backends(services, body)
    try:  # under a tenant: its grants where the key names none, and never more than them
        given = await services.tenants.settings_of_new_key(body.model_dump(include=body.model_fields_set))
        settings = {**body.model_dump(), **given}
    except TenantNotFound:
        message = f"No tenant with id `{body.tenant}`."
        raise APIError(message, status=404, param="tenant", code="tenant_not_found") from None
    except WidensTenant as exc:
        raise InvalidRequest(str(exc), param=exc.field, code="widens_tenant") from None
    record, secret = await services.keys.create(KeyRecord(id=new_key_id(), **settings))
    _audit(request_record, "key.created", record.id)
    return {**record.public(), "key": secret}  # the only time the secret is shown


@router.get("/keys")
async def list_keys(services: ServicesDep, request_record: RecordDep) -> dict[str, Any]:
    _audit(request_record, "keys.listed")
    return {"object": "list", "data": [record.public() for record in await services.keys.list()]}


@router.get("/keys/{key_id}")
async def show_key(key_id: str, services: ServicesDep, request_record: RecordDep) -> dict[str, Any]:
    _audit(request_record, "key.read", key_id)
    try:
        return (await services.keys.get(key_id)).public()
    except KeyNotFound:
        raise _not_found(key_id) from None


@router.patch("/keys/{key_id}")
async def update_key(key_id: str, body: KeyUpdate, services: ServicesDep, request_record: RecordDep) -> dict[str, Any]:
    _check_backends(services, body)
    _audit(request_record, "key.updated", key_id)
    try:
        return (await services.keys.update(key_id, **body.changes())).public()
    except KeyNotFound:
        raise _not_found(key_id) from None
    except KeyManagedByConfig as exc:
        raise APIError(str(exc), status=409, param="key_id", code="key_managed_by_config") from None
    except ValueError as exc:  # a setting that cannot change (a key's tenant)
        raise InvalidRequest(str(exc), param="tenant", code="invalid_value") from None


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, services: ServicesDep, request_record: RecordDep) -> dict[str, Any]:
    _audit(request_record, "key.revoked", key_id)
    try:
        return (await services.keys.revoke(key_id)).public()
    except KeyNotFound:
        raise _not_found(key_id) from None


@router.get("/usage")
async def all_usage(
    services: ServicesDep, request_record: RecordDep, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    _audit(request_record, "usage.read")
    return {"object": "list", "data": await services.usage.for_all(UsageRange.of(start, end))}


@router.get("/audit")
async def audit_records(
    services: ServicesDep,
    request_record: RecordDep,
    key_id: str | None = None,
    backend: str | None = None,
    outcome: str | None = None,
    phi: bool | None = Query(None, description="true: only requests with identifiers detected; false: only without"),
    kind: Literal["request", "admin"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: Annotated[
        str | None, Query(pattern=r"^\d{1,15}-\d{1,19}$", description="next_cursor of the last page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Audit records, oldest first; pass `next_cursor` as `after` for the next page."""
    _audit(request_record, "audit.read")
    query = reader.AuditQuery(
        key_id=key_id, backend=backend, outcome=outcome, phi=phi, kind=kind, since=since, until=until
    )
    try:
        found = await reader.page(services.audit_trail, query, after=after, limit=limit)
    except STORE_ERRORS:
        raise StoreUnavailable("The audit trail's store is unavailable. Retry shortly.") from None
    return {
        "object": "list",
        "data": found.records,
        "next_cursor": found.next_cursor,
        "has_more": found.next_cursor is not None,
    }
