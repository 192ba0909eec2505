"""API keys for tests that talk to a store directly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from serving.access.admission import Admission
from serving.access.keys import KeyRecord, KeyStore, hash_key

Connect = Callable[[], Redis]  # a factory of clients of one store (several clients: several instances)


async def make_key(redis: Redis, key_id: str = "key_test", **limits: Any) -> tuple[str, KeyRecord]:
    """A key with the given limits; returns its hash (what admission looks up) and record."""
    record, secret = await KeyStore(redis).create(KeyRecord(id=key_id, name="t", **limits))
    return hash_key(secret), record


async def admit_many(admission: Admission, key_hash: str, count: int, estimate: int) -> list[str]:
    """Admit `count` requests at once; each one's outcome: ok, or the refusal's type."""

    async def one() -> str:
        grant = await admission.admit(key_hash, "medgemma", estimate)
        return "ok" if grant.refusal is None else str(grant.refusal.type)

    return await asyncio.gather(*(one() for _ in range(count)))
