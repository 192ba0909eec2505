"""API-key records in the store: only a SHA-256 of each secret is kept. Used by the CLI, the
admin API and start-up (static keys from the config file); admission reads records in Lua."""

from __future__ import annotations

import builtins
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis

from serving.settings import check_models
from serving.store.connection import KEY_INDEX, LuaScript, decode, key_for


def hash_key(secret: str) -> str:
    # A fast hash is right for random, high-entropy keys; lookup by digest leaks nothing
    # about the secret through timing.
    return hashlib.sha256(secret.encode()).hexdigest()


def record_key(key_hash: str) -> str:
    return key_for(key_hash, "key")


def new_secret() -> str:
    return "sk-pc-" + secrets.token_urlsafe(32)  # 32 random bytes


@dataclass
class KeyRecord:
    id: str
    name: str
    models: list[str] = field(default_factory=lambda: ["*"])
    rpm: int = 0  # requests per minute; 0 = unlimited
    tpm: int = 0  # tokens per minute; 0 = unlimited
    daily_tokens: int = 0  # daily token budget; 0 = none
    max_in_flight: int = 0  # requests at once; 0 = unlimited
    expires_at: int = 0  # unix seconds; 0 = never
    disabled: bool = False
    created_at: int = 0
    # Backends this key's tenant may send identifiers to as they are (its own BAA covers
    # them), and backends it may send images to; see serving/privacy/policy.py.
    allow_phi: list[str] = field(default_factory=list)
    allow_images: list[str] = field(default_factory=list)
    priority: str = "interactive"  # its requests' place in a backend's queue: interactive, consultation, batch
    allow_store: list[str] = field(default_factory=list)  # backends that may keep its responses (Responses API)
    response_cache: bool = False  # deterministic answers may be served from the response cache (opt-in per request)

    def to_redis(self) -> Mapping[Any, str]:
        return {
            "id": self.id,
            "name": self.name,
            "models": ",".join(self.models),
            "rpm": str(self.rpm),
            "tpm": str(self.tpm),
            "daily_tokens": str(self.daily_tokens),
            "max_in_flight": str(self.max_in_flight),
            "expires_at": str(self.expires_at),
            "disabled": "1" if self.disabled else "0",
            "created_at": str(self.created_at),
            "allow_phi": ",".join(self.allow_phi),
            "allow_images": ",".join(self.allow_images),
            "priority": self.priority,
            "allow_store": ",".join(self.allow_store),
            "response_cache": "1" if self.response_cache else "0",
        }

    @classmethod
    def from_redis(cls, raw: dict[str, str]) -> KeyRecord:
        return cls(
            id=raw["id"],
            name=raw.get("name", ""),
            models=(raw.get("models") or "*").split(","),
            rpm=int(raw.get("rpm") or 0),
            tpm=int(raw.get("tpm") or 0),
            daily_tokens=int(raw.get("daily_tokens") or 0),
            max_in_flight=int(raw.get("max_in_flight") or 0),
            expires_at=int(raw.get("expires_at") or 0),
            disabled=raw.get("disabled") == "1",
            created_at=int(raw.get("created_at") or 0),
            allow_phi=[name for name in (raw.get("allow_phi") or "").split(",") if name],
            allow_images=[name for name in (raw.get("allow_images") or "").split(",") if name],
            priority=raw.get("priority") or "interactive",
            allow_store=[name for name in (raw.get("allow_store") or "").split(",") if name],
            response_cache=raw.get("response_cache") == "1",
        )

    def public(self) -> dict[str, Any]:
        return asdict(self)


UPDATABLE = frozenset(
    {
        "name",
        "models",
        "rpm",
        "tpm",
        "daily_tokens",
        "max_in_flight",
        "expires_at",
        "disabled",
        "allow_phi",
        "allow_images",
        "priority",
        "allow_store",
        "response_cache",
    }
)


STATIC_PREFIX = "static-"  # ids of keys defined in the config file


class KeyNotFound(LookupError):
    pass


class KeyManagedByConfig(ValueError):
    """Only revocation applies to a config-file key; its name, models and limits come from the file."""


class KeyStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def create(self, record: KeyRecord, secret: str | None = None) -> tuple[KeyRecord, str]:
        """Store a key; returns the record and the secret (shown once, never stored)."""
        check_models(record.models)
        secret = secret or new_secret()
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
            raise ValueError(f"cannot update {sorted(unknown)}")
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
