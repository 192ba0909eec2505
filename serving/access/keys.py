"""API-key records in the store: only a SHA-256 of each secret is kept. Used by the CLI, the
admin API and start-up (static keys from the config file); admission reads records in Lua."""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field
from redis.crc import key_slot

from serving.settings import KeySettings, check_models, kind_of
from serving.store.connection import KEY_INDEX, LuaScript, Store, decode, key_for, tenant_key


def hash_key(secret: str) -> str:
    # A fast hash is right for random, high-entropy keys; lookup by digest leaks nothing
    # about the secret through timing.
    return hashlib.sha256(secret.encode()).hexdigest()


def record_key(key_hash: str) -> str:
    return key_for(key_hash, "key")


def new_secret(tenant: str = "") -> str:
    """32 random bytes. A tenant's key is drawn until its record's hash slot is the tenant's
    (~16,000 draws, ~40 ms): admission and settlement then touch one slot of a Redis Cluster. Which
    slot a key's digest falls in says nothing of the secret."""
    if not tenant:
        return "sk-pc-" + secrets.token_urlsafe(32)
    slot = key_slot(tenant_key(tenant, "tenant").encode())
    while True:
        secret = "sk-pc-" + secrets.token_urlsafe(32)
        if key_slot(record_key(hash_key(secret)).encode()) == slot:
            return secret


class KeyRecord(KeySettings):
    """A key in the store: its settings (serving/settings/keys.py), and what the store keeps of
    its own. Kept as a Redis hash of strings, one field per setting, written and read by the
    settings' kinds: admit.lua reads the same fields."""

    id: str
    name: str
    expires_at: int = Field(0, ge=0, description="unix seconds; 0 = never")
    disabled: bool = False
    created_at: int = 0

    def to_redis(self) -> Mapping[Any, str]:
        return stored_fields(self)

    @classmethod
    def from_redis(cls, raw: Mapping[str, str]) -> KeyRecord:
        return cls.model_construct(**record_fields(cls, raw))

    def public(self) -> dict[str, Any]:
        """The record as the admin API and the CLI show it (never a secret), id and name first."""
        return {"id": self.id, "name": self.name, **self.model_dump(exclude={"id", "name"})}


def stored_fields(record: BaseModel) -> dict[str, str]:
    """A record as a Redis hash of strings, one field per setting, written by the settings' kinds."""
    return {name: _stored(getattr(record, name)) for name in type(record).model_fields}


def record_fields(model: type[BaseModel], raw: Mapping[str, str]) -> dict[str, Any]:
    """Leniently, as the store has it (no validation): a field it lacks, or holds empty, takes its
    default; a text field (id, name) is kept as it is, empty too."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        text = raw.get(name)
        kind = kind_of(info)
        if text is None or (not text and kind != "text"):
            continue
        if kind == "list":
            values[name] = [item for item in text.split(",") if item]
        elif kind == "flag":
            values[name] = text == "1"
        elif kind == "count":
            values[name] = int(text)
        elif kind == "amount":
            values[name] = float(text)
        else:
            values[name] = text
    return values


def _stored(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


UPDATABLE = frozenset(KeyRecord.model_fields) - {"id", "created_at", "tenant"}  # a key stays in its tenant


STATIC_PREFIX = "static-"  # ids of keys defined in the config file


class KeyNotFound(LookupError):
    pass


class KeyManagedByConfig(ValueError):
    """Only revocation applies to a config-file key; its name, models and limits come from the file."""


class KeyStore:
    def __init__(self, redis: Store) -> None:
        self._redis = redis

    async def create(self, record: KeyRecord, secret: str | None = None) -> tuple[KeyRecord, str]:
        """Store a key; returns the record and the secret (shown once, never stored)."""
        check_models(record.models)
        if secret is None:  # a tenant's is drawn for its slot: tens of milliseconds, off the loop
            secret = await asyncio.to_thread(new_secret, record.tenant) if record.tenant else new_secret()
        if not record.created_at:
            record.created_at = int(time.time())
        key_hash = hash_key(secret)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(record_key(key_hash), mapping=record.to_redis())
            pipe.hset(KEY_INDEX, record.id, key_hash)
            await pipe.execute()
        return record, secret

    async def _hash_of(self, key_id: str) -> str:
        key_hash = await self._redis.hget(KEY_INDEX, key_id)
        if key_hash is None:
            raise KeyNotFound(key_id)
        return key_hash.decode() if isinstance(key_hash, bytes) else str(key_hash)

    async def get(self, key_id: str) -> KeyRecord:
        raw = await self._redis.hgetall(record_key(await self._hash_of(key_id)))
        if not raw:
            raise KeyNotFound(key_id)
        return KeyRecord.from_redis(decode(raw))

    async def list(self) -> list[KeyRecord]:
        index = decode(await self._redis.hgetall(KEY_INDEX))
        records = []
        for key_hash in index.values():
            raw = await self._redis.hgetall(record_key(key_hash))
            if raw:
                records.append(KeyRecord.from_redis(decode(raw)))
        return sorted(records, key=lambda r: (r.created_at, r.id))

    async def update(self, key_id: str, **changes: Any) -> KeyRecord:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}: a key stays in its tenant; create a new one")
        if key_id.startswith(STATIC_PREFIX) and set(changes) - {"disabled"}:
            raise KeyManagedByConfig(
                f"Key `{key_id}` is defined in the config file: change {sorted(set(changes) - {'disabled'})} there "
                "(only revoking and re-enabling it is done here)."
            )
        if "models" in changes:
            check_models(changes["models"])
        record = await self.get(key_id)
        for name, value in changes.items():
            setattr(record, name, value)
        await self._redis.hset(record_key(await self._hash_of(key_id)), mapping=record.to_redis())
        return record

    async def revoke(self, key_id: str) -> KeyRecord:
        return await self.update(key_id, disabled=True)

    async def get_by_hash(self, key_hash: str) -> KeyRecord | None:
        raw = await self._redis.hgetall(record_key(key_hash))
        return KeyRecord.from_redis(decode(raw)) if raw else None

    async def delete(self, key_id: str, key_hash: str) -> None:
        """Remove a key's record, and its index entry if that still names this record (another
        instance may have pointed the id at a new secret meanwhile). Its usage history stays."""
        await self._redis.delete(record_key(key_hash))
        await _DELETE_INDEX_ENTRY.run(self._redis, [KEY_INDEX], [key_id, key_hash])

    async def install(self, record: KeyRecord, secret: str) -> None:
        """Write a config-file key: the fields the file owns, and `disabled` and `created_at` only
        where the record has none yet (a revocation made meanwhile is never overwritten)."""
        check_models(record.models)
        key_hash = hash_key(secret)
        owned = {k: v for k, v in record.to_redis().items() if k not in ("disabled", "created_at")}
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(record_key(key_hash), mapping=owned)
            pipe.hsetnx(record_key(key_hash), "disabled", "0")
            pipe.hsetnx(record_key(key_hash), "created_at", str(int(time.time())))
            pipe.hset(KEY_INDEX, record.id, key_hash)
            await pipe.execute()

    async def store_is_empty(self) -> bool:
        """No key index: the store lost its data (a Redis without persistence restarted)."""
        return not await self._redis.exists(KEY_INDEX)

    async def record_hashes(self) -> builtins.list[str]:
        """Hashes of every key record, indexed or not (a scan: for start-up, not requests)."""
        hashes = []
        async for name in self._redis.scan_iter(match="pc:{*}:key", count=1000):
            text = name.decode() if isinstance(name, bytes) else str(name)
            hashes.append(text[len("pc:{") : -len("}:key")])
        return hashes

    async def key_hashes(self) -> dict[str, str]:
        return decode(await self._redis.hgetall(KEY_INDEX))


_DELETE_INDEX_ENTRY = LuaScript(
    "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0"
)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)
