"""Admission: authentication and every limit in one store round trip (admit.lua). A request
either leaves with a Grant (what was charged up front) or with the 401/404/429/503 it gets.

One implementation: the in-process default runs the same Lua script in fakeredis.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from serving.access.limits import Grant, day_of, limit_headers, models_of, refusal
from serving.access.store import LuaScript, key_for
from serving.errors import InvalidAPIKey, ModelNotFound, StoreUnavailable
from serving.observability.metrics import Metrics

log = logging.getLogger(__name__)

FailurePolicy = Literal["open", "closed"]
UNVERIFIED = "unverified"  # the key id of requests served while the store was down (fail open)


class Admission:
    def __init__(
        self,
        redis: Redis,
        *,
        metrics: Metrics,
        failure_policy: FailurePolicy = "closed",
        reinstall: Callable[[str], Awaitable[bool]] | None = None,
        on_store_recovered: Callable[[], None] | None = None,
    ) -> None:
        self._redis = redis
        self._metrics = metrics
        # Called with an unknown key's hash; True if it re-created a config-file key (a Redis
        # without persistence came back empty), so the lookup is worth one retry.
        self._reinstall = reinstall
        self._on_store_recovered = on_store_recovered
        self._script = LuaScript.named("admit.lua")
        self.failure_policy = failure_policy
        self.healthy = True

    async def admit(self, key_hash: str, alias: str, estimate: int, *, charge: bool = True) -> Grant:
        """charge=False: only check the key (routes that generate nothing)."""
        now = time.time()
        keys = [key_for(key_hash, s) for s in ("key", "rpm", "tpm", f"day:{day_of(now)}")]
        started = time.perf_counter()
        try:
            raw = await self._script.run(self._redis, keys, [int(now * 1000), alias, estimate, "1" if charge else "0"])
            self._metrics.store_round_trip.observe(time.perf_counter() - started)
        except RedisError as exc:
            self.healthy = False
            return self._store_failed(exc, key_hash)
        if not self.healthy:
            self.healthy = True
            log.info("key store is back")
            if self._on_store_recovered is not None:
                self._on_store_recovered()
        result = [v.decode() if isinstance(v, bytes) else v for v in raw]
        status = result[0]
        if status == "unknown" and self._reinstall is not None and await self._reinstall(key_hash):
            return await self.admit(key_hash, alias, estimate, charge=charge)
        if status in ("unknown", "disabled", "expired"):
            self._metrics.auth_failures.inc()
            raise InvalidAPIKey("Incorrect API key provided." if status == "unknown" else f"This API key is {status}.")
        if status not in ("ok", "forbidden"):
            self._metrics.rate_limited.labels(status).inc()
        if status == "forbidden":
            raise ModelNotFound(alias)
        if not charge:
            return Grant(result[1], key_hash, result[2], models_of(result[3]), 0, 0, False, False, {})
        headers = limit_headers(result)
        return Grant(
            key_id=result[1],
            key_hash=key_hash,
            name=result[2],
            models=models_of(result[3]),
            estimate=estimate if status == "ok" else 0,
            bucket=int(result[10]),
            has_token_limit=int(result[7]) > 0,
            has_daily_budget=int(result[11]) > 0,
            headers=headers,
            refusal=None if status == "ok" else refusal(status, result, estimate, headers),
        )

    def _store_failed(self, exc: RedisError, key_hash: str) -> Grant:
        self._metrics.store_errors.inc()
        log.error("key store unavailable", extra={"error_type": type(exc).__name__, "policy": self.failure_policy})
        if self.failure_policy == "closed":
            raise StoreUnavailable(
                "The service is temporarily unable to check API keys. Retry shortly.", headers={"retry-after": "1"}
            ) from exc
        # Fail open: serve, and count the tokens against the window and daily budget later.
        return Grant(UNVERIFIED, key_hash, UNVERIFIED, None, 0, int(time.time()), True, True, {})
