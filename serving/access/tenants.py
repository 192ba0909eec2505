"""Tenant (clinic) records in the store, one Redis hash each under the tenant's own hash tag
(pc:{t:id}:tenant: admit.lua reads it beside the key's record), and what a key created under a
tenant gets from it: the tenant's grants where the key names none, and never more than them."""

from __future__ import annotations

import builtins
import time
from collections.abc import Mapping
from typing import Any

from serving.access.keys import record_fields, stored_fields
from serving.settings.tenants import StaticTenant, TenantSettings, key_settings_under
from serving.store.connection import TENANT_INDEX, Store, decode, tenant_key


class TenantNotFound(LookupError):
    pass


class TenantExists(ValueError):
    pass


class TenantRecord(StaticTenant):
    """A tenant in the store: its settings (serving/settings/tenants.py) and when it was created."""

    created_at: int = 0

    def to_redis(self) -> Mapping[Any, str]:
        return stored_fields(self)

    @classmethod
    def from_redis(cls, raw: Mapping[str, str]) -> TenantRecord:
        return cls.model_construct(**record_fields(cls, raw))

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, **self.model_dump(exclude={"id", "name"})}


UPDATABLE = frozenset(TenantSettings.model_fields)


class TenantStore:
    def __init__(self, redis: Store) -> None:
        self._redis = redis

    async def create(self, record: TenantRecord) -> TenantRecord:
        if not record.created_at:
            record.created_at = int(time.time())
        if not await self._redis.sadd(TENANT_INDEX, record.id):
            raise TenantExists(f"A tenant with id `{record.id}` exists already.")
        await self._redis.hset(tenant_key(record.id, "tenant"), mapping=record.to_redis())
        return record

    async def install(self, tenant: StaticTenant) -> None:
        """Write a config-file tenant: the fields the file owns; `disabled` and created_at only where
        the record has none yet."""
        record = TenantRecord(**tenant.model_dump())
        owned = {name: value for name, value in record.to_redis().items() if name not in ("created_at", "disabled")}
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.sadd(TENANT_INDEX, record.id)
            pipe.hset(tenant_key(record.id, "tenant"), mapping=owned)
            # a tenant disabled through the admin API or the CLI stays disabled across restarts
            pipe.hsetnx(tenant_key(record.id, "tenant"), "disabled", "1" if tenant.disabled else "0")
            pipe.hsetnx(tenant_key(record.id, "tenant"), "created_at", str(int(time.time())))
            await pipe.execute()

    async def get(self, tenant_id: str) -> TenantRecord:
        raw = await self._redis.hgetall(tenant_key(tenant_id, "tenant"))
        if not raw:
            raise TenantNotFound(tenant_id)
        return TenantRecord.from_redis(decode(raw))

    async def list(self) -> builtins.list[TenantRecord]:
        members = await self._redis.smembers(TENANT_INDEX)
        ids = sorted(member.decode() if isinstance(member, bytes) else str(member) for member in members)
        records = []
        for tenant_id in ids:
            raw = await self._redis.hgetall(tenant_key(tenant_id, "tenant"))
            if raw:
                records.append(TenantRecord.from_redis(decode(raw)))
        return records

    async def settings_of_new_key(self, given: dict[str, Any]) -> dict[str, Any]:
        """A new key's settings: as given, or under its tenant (key_settings_under). Raises
        TenantNotFound for a tenant that does not exist, WidensTenant for a key that asks more."""
        tenant_id = given.get("tenant")
        return key_settings_under(await self.get(tenant_id), given) if tenant_id else given

    async def update(self, tenant_id: str, **changes: Any) -> TenantRecord:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        record = await self.get(tenant_id)
        for name, value in changes.items():
            setattr(record, name, value)
        await self._redis.hset(tenant_key(tenant_id, "tenant"), mapping=record.to_redis())
        return record
