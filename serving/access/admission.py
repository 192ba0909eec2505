"""Admission: authentication and every limit in one store round trip (admit.lua). A request
either leaves with a Grant (what was charged up front) or with the 401/404/429/503 it gets.

One implementation: the in-process default runs the same Lua script in fakeredis.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from redis.exceptions import RedisError

from serving.access.limits import Grant, day_name, day_number, limit_headers, models_of, names_of, priority_of, refusal
from serving.access.verified import VerifiedKey, VerifiedKeys
from serving.errors import InvalidAPIKey, ModelNotFound, StoreUnavailable
from serving.observability.metrics import Metrics
from serving.store.connection import CommandRunner, LuaScript, key_for

log = logging.getLogger(__name__)

FailurePolicy = Literal["open", "closed"]
LEASE_MS = 15 * 60 * 1000  # an in-flight lease outlives any request; a crashed instance's expire


class Admission:
    def __init__(
        self,
        redis: CommandRunner,
        *,
        metrics: Metrics,
        failure_policy: FailurePolicy = "closed",
        verified: VerifiedKeys | None = None,
        reinstall: Callable[[str], Awaitable[bool]] | None = None,
        on_store_recovered: Callable[[], None] | None = None,
        lease_ms: int = LEASE_MS,
    ) -> None:
        self._redis = redis
        self._lease_ms = lease_ms
        self._metrics = metrics
        self._verified = verified or VerifiedKeys(ttl_seconds=300)
        self._refused_until: OrderedDict[str, float] = OrderedDict()  # key hash -> when a limit may admit it
        # Called with an unknown key's hash; True if it re-created a config-file key (a Redis
        # without persistence came back empty), so the lookup is worth one retry.
        self._reinstall = reinstall
        self._on_store_recovered = on_store_recovered
        self._script = LuaScript.named("admit.lua")
        self.failure_policy = failure_policy
        self.healthy = True

    def likely_admits(self, key_hash: str, alias: str) -> bool:
        """Whether a request may leave for a self-hosted backend before its admission is known
        (serving/gateway/pipeline.py): the store answers, the key was accepted recently and may use
        the alias, and no limit refused it lately. A key that keeps hitting a limit must not keep
        the GPU busy with prompts it will never be served."""
        if not self.healthy:
            return False
        known = self._verified.recall(key_hash)
        if known is None or (known.models is not None and alias not in known.models):
            return False
        until = self._refused_until.get(key_hash)
        return until is None or until <= time.monotonic()

    def _note_refusal(self, key_hash: str, retry_ms: int) -> None:
        # Until the limit frees up (a minute when the store names no time: a spent budget).
        seconds = retry_ms / 1000 if retry_ms > 0 else 60.0
        self._refused_until[key_hash] = time.monotonic() + seconds
        self._refused_until.move_to_end(key_hash)
        if len(self._refused_until) > 10_000:
            self._refused_until.popitem(last=False)

    async def authenticate(self, key_hash: str) -> Grant:
        """The caller's key, checked without charging any limit (requests that generate nothing
        of their own: listings, a consultation's outer request)."""
        return await self.admit(key_hash, "", 0, charge=False)

    async def check_known(self, key_hash: str) -> None:
        """Refuse an unknown key cheaply, before its request body is read: no store call for a
        key verified within the TTL, one look-up otherwise."""
        if self._verified.recall(key_hash) is None:
            await self.authenticate(key_hash)

    async def admit(
        self,
        key_hash: str,
        alias: str,
        estimate: int,
        *,
        charge: bool = True,
        generates: bool = True,
        _retried: bool = False,
    ) -> Grant:
        """charge=False: only check the key. generates=False: count the request against the key's
        request rate only (no tokens, budget or in-flight lease: nothing will settle it)."""
        day = day_number(time.time())
        lease = uuid.uuid4().hex if charge and generates else ""
        for _ in range(3):  # our clock may name another day than the store's: then use the store's
            result = await self._run(key_hash, alias, estimate, charge, generates, day, lease)
            if result is None:
                return self._serve_unchecked(key_hash)
            if result[0] != "day":
                break
            day = int(result[4])
        else:
            raise StoreUnavailable("The store's day kept changing. Retry shortly.", headers={"retry-after": "1"})
        status = result[0]
        if status == "unknown" and not _retried and self._reinstall is not None and await self._reinstall(key_hash):
            return await self.admit(key_hash, alias, estimate, charge=charge, generates=generates, _retried=True)
        if status in ("unknown", "disabled", "expired"):
            self._verified.forget(key_hash)
            self._metrics.auth_failures.inc()
            raise InvalidAPIKey("Incorrect API key provided." if status == "unknown" else f"This API key is {status}.")
        if status == "forbidden":
            raise ModelNotFound(alias)
        if not charge:
            self._remember(key_hash, result, tpm=int(result[5]), daily=int(result[6]), grants=result[8:13])
            return Grant(
                result[1],
                key_hash,
                result[2],
                models_of(result[3]),
                0,
                0,
                False,
                False,
                {},
                allow_phi=names_of(result[8]),
                allow_images=names_of(result[9]),
                priority=priority_of(result[10]),
                allow_store=names_of(result[11]),
                response_cache=result[12] == "1",
            )
        if generates:  # a usage report's result leaves out the key's token limits: not worth remembering
            self._remember(key_hash, result, tpm=int(result[7]), daily=int(result[11]), grants=result[17:22])
        if status != "ok":
            self._metrics.rate_limited.labels(status).inc()
            self._note_refusal(key_hash, int(result[13]))
        elif self._refused_until:
            self._refused_until.pop(key_hash, None)
        headers = limit_headers(result)
        admitted = status == "ok"
        return Grant(
            key_id=result[1],
            key_hash=key_hash,
            name=result[2],
            models=models_of(result[3]),
            estimate=estimate if admitted else 0,
            bucket=int(result[10]),
            has_token_limit=int(result[7]) > 0,
            has_daily_budget=int(result[11]) > 0,
            headers=headers,
            refusal=None if admitted else refusal(status, result, estimate, headers),
            day=int(result[16]),
            lease=lease if admitted and int(result[14]) > 0 else "",
            allow_phi=names_of(result[17]),
            allow_images=names_of(result[18]),
            priority=priority_of(result[19]),
            allow_store=names_of(result[20]),
            response_cache=result[21] == "1",
        )

    async def _run(
        self, key_hash: str, alias: str, estimate: int, charge: bool, generates: bool, day: int, lease: str
    ) -> list[Any] | None:
        """admit.lua's result, or None when the store failed and the policy says serve anyway."""
        keys = [key_for(key_hash, s) for s in ("key", "rpm", "tpm", f"day:{day_name(day)}", "inflight")]
        mode = "0" if not charge else ("1" if generates else "2")
        args: list[str | int] = [alias, estimate, mode, day, lease, self._lease_ms]
        started = time.perf_counter()
        try:
            raw = await self._script.run(self._redis, keys, args)
            self._metrics.store_round_trip.observe(time.perf_counter() - started)
        except RedisError as exc:
            self.healthy = False
            self._store_failed(exc)
            return None
        if not self.healthy:
            self.healthy = True
            log.info("key store is back")
            if self._on_store_recovered is not None:
                self._on_store_recovered()
        return [v.decode() if isinstance(v, bytes) else v for v in raw]

    def _remember(self, key_hash: str, result: list[Any], *, tpm: int, daily: int, grants: list[Any]) -> None:
        """grants: the key's allow_phi, allow_images, priority, allow_store and response_cache, as
        admit.lua returns them."""
        allow_phi, allow_images, priority, allow_store, response_cache = grants
        self._verified.remember(
            key_hash,
            VerifiedKey(
                result[1],
                result[2],
                models_of(result[3]),
                tpm > 0,
                daily > 0,
                names_of(allow_phi),
                names_of(allow_images),
                priority_of(priority),
                names_of(allow_store),
                response_cache == "1",
            ),
        )

    def _store_failed(self, exc: RedisError) -> None:
        self._metrics.store_errors.inc()
        log.error("key store unavailable", extra={"error_type": type(exc).__name__, "policy": self.failure_policy})
        if self.failure_policy == "closed":
            raise StoreUnavailable(
                "The service is temporarily unable to check API keys. Retry shortly.", headers={"retry-after": "1"}
            ) from exc

    def _serve_unchecked(self, key_hash: str) -> Grant:
        """Fail open, for a key the store accepted within the TTL only: serve it and count its
        tokens against its window and budget later (the settlement waits in the backlog)."""
        known = self._verified.recall(key_hash)
        if known is None:
            raise StoreUnavailable(
                "The service is temporarily unable to check this API key. Retry shortly.",
                headers={"retry-after": "1"},
            )
        now = time.time()
        return Grant(
            known.key_id,
            key_hash,
            known.name,
            known.models,
            0,
            int(now),
            known.has_token_limit,
            known.has_daily_budget,
            {},
            day=day_number(now),
            allow_phi=known.allow_phi,
            allow_images=known.allow_images,
            priority=known.priority,
            allow_store=known.allow_store,
            response_cache=known.response_cache,
        )
