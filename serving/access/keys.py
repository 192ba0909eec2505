"""API-key records in the store: only a SHA-256 of each secret is kept. Used by the CLI, the
admin API and start-up (static keys from the config file); admission reads records in Lua."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis

from serving.access.store import KEY_INDEX, decode, key_for


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
    expires_at: int = 0  # unix seconds; 0 = never
    disabled: bool = False
    created_at: int = 0

    def to_redis(self) -> Mapping[Any, str]:
        return {
            "id": self.id,
            "name": self.name,
            "models": ",".join(self.models) or "*",
            "rpm": str(self.rpm),
            "tpm": str(self.tpm),
            "daily_tokens": str(self.daily_tokens),
            "expires_at": str(self.expires_at),
            "disabled": "1" if self.disabled else "0",
            "created_at": str(self.created_at),
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
            expires_at=int(raw.get("expires_at") or 0),
            disabled=raw.get("disabled") == "1",
            created_at=int(raw.get("created_at") or 0),
        )

    def public(self) -> dict[str, Any]:
        return asdict(self)


UPDATABLE = frozenset({"name", "models", "rpm", "tpm", "daily_tokens", "expires_at", "disabled"})


class KeyNotFound(LookupError):
    pass


class KeyStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def create(self, record: KeyRecord, secret: str | None = None) -> tuple[KeyRecord, str]:
        """Store a key; returns the record and the secret (shown once, never stored)."""
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
        record = await self.get(key_id)
        for name, value in changes.items():
            setattr(record, name, value)
        await self._redis.hset(record_key(await self._hash_of(key_id)), mapping=record.to_redis())
        return record

    async def revoke(self, key_id: str) -> KeyRecord:
        return await self.update(key_id, disabled=True)

    async def key_hashes(self) -> dict[str, str]:
        return decode(await self._redis.hgetall(KEY_INDEX))


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)
