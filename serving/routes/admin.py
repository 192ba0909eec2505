"""/admin/keys and /admin/usage, behind the admin credential (store.admin_key), not an API key."""

from __future__ import annotations

import hmac
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from serving.deps import ServicesDep
from serving.errors import APIError, InvalidAPIKey, InvalidRequest
from serving.keys import KeyNotFound, KeyRecord, new_key_id
from serving.usage import UsageReader


async def require_admin(request: Request) -> None:
    expected = request.app.state.services.config.store.admin_key
    if not expected:
        raise APIError("The admin API is disabled: set store.admin_key.", status=403, code="admin_disabled")
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise InvalidAPIKey("Incorrect admin credential.")


router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    models: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    rpm: int = Field(0, ge=0)
    tpm: int = Field(0, ge=0)
    daily_tokens: int = Field(0, ge=0)
    expires_at: int = Field(0, ge=0, description="unix seconds; 0 = never")


class KeyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    models: list[str] | None = Field(None, min_length=1)
    rpm: int | None = Field(None, ge=0)
    tpm: int | None = Field(None, ge=0)
    daily_tokens: int | None = Field(None, ge=0)
    expires_at: int | None = Field(None, ge=0)
    disabled: bool | None = None


def _not_found(key_id: str) -> APIError:
    return APIError(f"No key with id `{key_id}`.", status=404, param="key_id", code="key_not_found")


@router.post("/keys", status_code=201)
async def create_key(body: KeyCreate, services: ServicesDep) -> dict[str, Any]:
    record, secret = await services.keys.create(KeyRecord(id=new_key_id(), **body.model_dump()))
    return {**record.public(), "key": secret}  # the only time the secret is shown


@router.get("/keys")
async def list_keys(services: ServicesDep) -> dict[str, Any]:
    return {"object": "list", "data": [record.public() for record in await services.keys.list()]}


@router.get("/keys/{key_id}")
async def show_key(key_id: str, services: ServicesDep) -> dict[str, Any]:
    try:
        return (await services.keys.get(key_id)).public()
    except KeyNotFound:
        raise _not_found(key_id) from None


@router.patch("/keys/{key_id}")
async def update_key(key_id: str, body: KeyUpdate, services: ServicesDep) -> dict[str, Any]:
    try:
        return (await services.keys.update(key_id, **body.model_dump(exclude_none=True))).public()
    except KeyNotFound:
        raise _not_found(key_id) from None


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, services: ServicesDep) -> dict[str, Any]:
    try:
        return (await services.keys.revoke(key_id)).public()
    except KeyNotFound:
        raise _not_found(key_id) from None


def date_range(start: date | None, end: date | None) -> tuple[date, date]:
    today = date.today()
    start, end = start or today, end or start or today
    if end < start:
        raise InvalidRequest("end is before start.", param="end")
    if (end - start).days > 365:
        raise InvalidRequest("A usage range covers at most 366 days.", param="start")
    return start, end


@router.get("/usage")
async def all_usage(services: ServicesDep, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    first, last = date_range(start, end)
    return {"object": "list", "data": await UsageReader(services.redis, services.keys).for_all(first, last)}
