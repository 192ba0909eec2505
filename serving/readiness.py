"""GET /health/ready's answer: every backend probed, and the store pinged."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from serving.backends.registry import BackendRegistry
from serving.settings import StoreConfig


class Readiness:
    def __init__(self, *, registry: BackendRegistry, redis: Redis, store: StoreConfig) -> None:
        self._registry = registry
        self._redis = redis
        self._store = store

    async def check(self) -> tuple[bool, dict[str, Any]]:
        """A down store makes us unready only when it would fail requests (failure_policy closed)."""
        ready, report = await self._registry.readiness()
        try:
            async with asyncio.timeout(1.0):
                await self._redis.ping()
            store_up, error = True, None
        except (RedisError, TimeoutError) as exc:
            store_up, error = False, type(exc).__name__
        report["store"] = {
            "kind": "redis" if self._store.redis_url else "in-process",
            "state": "up" if store_up else "down",
            "error": error,
            "failure_policy": self._store.failure_policy,
        }
        if not store_up and self._store.failure_policy == "closed":
            ready = False
            report["status"] = "unavailable"
        return ready, report
