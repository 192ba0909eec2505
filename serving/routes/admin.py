"""/admin/keys and /admin/usage, behind the admin credential (store.admin_key), not an API key."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator

from serving.access.grants import check_models
from serving.access.keys import KeyManagedByConfig, KeyNotFound, KeyRecord, new_key_id
from serving.access.usage import UsageRange
from serving.deps import ServicesDep, require_admin
from serving.errors import APIError

router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    models: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    rpm: int = Field(0, ge=0)
    tpm: int = Field(0, ge=0)
    daily_tokens: int = Field(0, ge=0)
    max_in_flight: int = Field(0, ge=0, description="requests at once; 0 = unlimited")
    expires_at: int = Field(0, ge=0, description="unix seconds; 0 = never")

    @field_validator("models")
    @classmethod
    def _models(cls, value: list[str]) -> list[str]:
        return check_models(value)


class KeyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    models: list[str] | None = Field(None, min_length=1)
    rpm: int | None = Field(None, ge=0)
    tpm: int | None = Field(None, ge=0)
    daily_tokens: int | None = Field(None, ge=0)
    max_in_flight: int | None = Field(None, ge=0)
    expires_at: int | None = Field(None, ge=0)
    disabled: bool | None = None

    @field_validator("models")
    @classmethod
    def _models(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_models(value)


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
    except KeyManagedByConfig as exc:
        raise APIError(str(exc), status=409, param="key_id", code="key_managed_by_config") from None


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, services: ServicesDep) -> dict[str, Any]:
    try:
        return (await services.keys.revoke(key_id)).public()
    except KeyNotFound:
        raise _not_found(key_id) from None


@router.get("/usage")
async def all_usage(services: ServicesDep, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    return {"object": "list", "data": await services.usage.for_all(UsageRange.of(start, end))}
