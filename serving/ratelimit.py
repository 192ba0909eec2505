"""Auth and rate limits in one Redis round trip (serving/ratelimit.lua), and the settlement
that replaces the up-front token estimate with real usage (serving/settle.lua).

One implementation: the in-process default runs the same Lua scripts in fakeredis.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from serving.errors import APIError, InvalidAPIKey, ModelNotFound
from serving.metrics import Metrics

log = logging.getLogger(__name__)

_ADMIT = (Path(__file__).parent / "ratelimit.lua").read_text()
_SETTLE = (Path(__file__).parent / "settle.lua").read_text()

FailurePolicy = Literal["open", "closed"]
Settlement = tuple[list[str], list[str | int]]
UNVERIFIED = "unverified"  # the key id of requests served while the store was down (fail open)


class LuaScript:
    """EVALSHA, falling back to EVAL when Redis lost its script cache (a restart).

    Hand-written rather than redis-py's Script: on the hot path its wrapper cost ~15% of the
    CPU of each call, and this is the one Redis call every request makes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def run(self, redis: Redis, keys: list[str], args: list[str | int]) -> Any:
        try:
            return await redis.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)  # type: ignore[no-untyped-call]
        except NoScriptError:
            return await redis.execute_command("EVAL", self.source, len(keys), *keys, *args)  # type: ignore[no-untyped-call]


def _tagged(key_hash: str, suffix: str) -> str:
    return f"pc:{{{key_hash}}}:{suffix}"


@functools.lru_cache(maxsize=4)
def _day(day_number: int) -> str:
    return datetime.fromtimestamp(day_number * 86400, UTC).strftime("%Y%m%d")


def day_of(timestamp: float) -> str:
    """UTC day as YYYYMMDD; formatted once a day, not twice a request."""
    return _day(int(timestamp // 86400))


def duration(ms: int) -> str:
    """OpenAI's reset format: 1s, 6m0s, 12ms."""
    if ms < 1000:
        return f"{max(ms, 0)}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest}s"


@dataclass(frozen=True, slots=True)
class Grant:
    """An admitted request: who, and what was charged up front."""

    key_id: str
    key_hash: str
    name: str
    models: frozenset[str] | None
    estimate: int
    bucket: int
    has_token_limit: bool
    has_daily_budget: bool
    headers: dict[str, str]
    refusal: RateLimited | None = None  # set when a limit refused the request

    def raise_if_refused(self) -> None:
        if self.refusal is not None:
            raise self.refusal

    def may_use(self, alias: str) -> bool:
        return self.models is None or alias in self.models


def _refusal(status: str, result: list[Any], estimate: int, headers: dict[str, str]) -> RateLimited:
    if status in ("requests", "tokens"):
        retry_ms = int(result[13])
        limit = result[4] if status == "requests" else result[7]
        return RateLimited(
            f"Rate limit reached for {status} per minute: limit {limit}. Try again in {duration(retry_ms)}.",
            type=status,
            headers={**headers, "retry-after": str(max(1, -(-retry_ms // 1000))), "retry-after-ms": str(retry_ms)},
        )
    if status == "too_large":
        return RateLimited(
            f"Request too large: it may use {estimate} tokens, above the key's limit of {result[7]} per minute. "
            "Lower max_tokens.",
            type="tokens",
            headers={**headers, "x-should-retry": "false"},
        )
    return RateLimited(
        "You exceeded your daily token budget.",
        type="insufficient_quota",
        code="insufficient_quota",
        headers={**headers, "x-should-retry": "false"},
    )


class RateLimited(APIError):
    status = 429
    code = "rate_limit_exceeded"


class StoreUnavailable(APIError):
    status = 503
    code = "service_unavailable"


def _models(raw: str) -> frozenset[str] | None:
    return None if raw == "*" else frozenset(raw.split(","))


def _limit_headers(result: list[Any]) -> dict[str, str]:
    rpm, rpm_left, rpm_reset, tpm, tpm_left, tpm_reset = (int(v) for v in result[4:10])
    headers = {}
    if rpm:
        headers["x-ratelimit-limit-requests"] = str(rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(rpm_left, 0))
        headers["x-ratelimit-reset-requests"] = duration(rpm_reset)
    if tpm:
        headers["x-ratelimit-limit-tokens"] = str(tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(tpm_left, 0))
        headers["x-ratelimit-reset-tokens"] = duration(tpm_reset)
    return headers


class AccessControl:
    def __init__(
        self,
        redis: Redis,
        *,
        metrics: Metrics,
        failure_policy: FailurePolicy = "closed",
        reinstall: Callable[[str], Awaitable[bool]] | None = None,
        backlog_size: int = 100_000,
    ) -> None:
        self._redis = redis
        self._metrics = metrics
        self._backlog: deque[Settlement] = deque(maxlen=backlog_size)
        # Called with an unknown key's hash; True if it re-created a config-file key (a Redis
        # without persistence came back empty), so the lookup is worth one retry.
        self._reinstall = reinstall
        self._admit = LuaScript(_ADMIT)
        self._settle = LuaScript(_SETTLE)
        self.failure_policy = failure_policy
        self.healthy = True
        self._pending: set[asyncio.Task[None]] = set()

    async def admit(self, key_hash: str, alias: str, estimate: int, *, charge: bool = True) -> Grant:
        now = time.time()
        keys = [_tagged(key_hash, s) for s in ("key", "rpm", "tpm", f"day:{day_of(now)}")]
        started = time.perf_counter()
        try:
            raw = await self._admit.run(self._redis, keys, [int(now * 1000), alias, estimate, "1" if charge else "0"])
            self._metrics.store_round_trip.observe(time.perf_counter() - started)
        except RedisError as exc:
            self.healthy = False
            return self._store_failed(exc, key_hash, estimate)
        if not self.healthy:
            self.healthy = True
            log.info("key store is back", extra={"backlog": len(self._backlog)})
            if self._backlog:
                self._spawn(self._replay_backlog())
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
            return Grant(result[1], key_hash, result[2], _models(result[3]), 0, 0, False, False, {})
        headers = _limit_headers(result)
        return Grant(
            key_id=result[1],
            key_hash=key_hash,
            name=result[2],
            models=_models(result[3]),
            estimate=estimate if status == "ok" else 0,
            bucket=int(result[10]),
            has_token_limit=int(result[7]) > 0,
            has_daily_budget=int(result[11]) > 0,
            headers=headers,
            refusal=None if status == "ok" else _refusal(status, result, estimate, headers),
        )

    def _store_failed(self, exc: RedisError, key_hash: str, estimate: int) -> Grant:
        self._metrics.store_errors.inc()
        log.error("key store unavailable", extra={"error_type": type(exc).__name__, "policy": self.failure_policy})
        if self.failure_policy == "closed":
            raise StoreUnavailable(
                "The service is temporarily unable to check API keys. Retry shortly.", headers={"retry-after": "1"}
            ) from exc
        # Fail open: serve, and count the tokens against the window and daily budget later.
        return Grant(UNVERIFIED, key_hash, UNVERIFIED, None, 0, int(time.time()), True, True, {})

    def settle_later(self, grant: Grant, *, alias: str, prompt: int, completion: int, failed: bool) -> None:
        """Settle after the response, off the request's path; drain() waits for these at shutdown."""
        self._spawn(self.settle(grant, alias=alias, prompt=prompt, completion=completion, failed=failed))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def settle(self, grant: Grant, *, alias: str, prompt: int, completion: int, failed: bool) -> None:
        """Replace the estimate with what was used and count the request. Never raises: when
        Redis is down, the settlement waits in a bounded backlog and is replayed on recovery."""
        now = time.time()
        keys = [
            _tagged(grant.key_hash, "tpm"),
            _tagged(grant.key_hash, f"day:{day_of(now)}"),
            _tagged(grant.key_hash, f"usage:{day_of(now)}"),
        ]
        delta = prompt + completion - grant.estimate
        args: list[str | int] = [
            grant.bucket,
            delta,
            int(now),
            alias,
            prompt,
            completion,
            "1" if failed else "0",
            "1" if grant.has_token_limit else "0",
            "1" if grant.has_daily_budget else "0",
        ]
        await self._apply((keys, args))

    async def _apply(self, settlement: Settlement) -> None:
        try:
            await self._settle.run(self._redis, settlement[0], settlement[1])
        except RedisError as exc:
            self._metrics.store_errors.inc()
            if len(self._backlog) == self._backlog.maxlen:
                log.error("usage backlog full: dropping the oldest settlement")
            self._backlog.append(settlement)
            log.warning("usage settlement deferred", extra={"error_type": type(exc).__name__})

    async def _replay_backlog(self) -> None:
        while self._backlog:
            await self._apply(self._backlog.popleft())
            if not self.healthy:
                return
