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

from serving.access.limits import (
    CHARGED,
    LOOKED,
    Charged,
    Grant,
    KeyGrants,
    Looked,
    day_name,
    day_number,
    limit_headers,
    models_of,
    refusal,
)
from serving.access.periods import BudgetPeriods, Calendar
from serving.access.spend import spend_keys
from serving.access.verified import VerifiedKey, VerifiedKeys
from serving.errors import InvalidAPIKey, ModelNotFound, StoreUnavailable
from serving.observability.metrics import Metrics
from serving.settings import GRANT_FIELDS
from serving.settings.tenants import TENANT_GRANT_FIELDS
from serving.store.connection import CommandRunner, LuaScript, key_for
from serving.store.errors import STORE_ERRORS

log = logging.getLogger(__name__)

FailurePolicy = Literal["open", "closed"]
_NO_TENANT = ("", "UTC")
_REFUSED = {
    "unknown": "Incorrect API key provided.",
    "disabled": "This API key is disabled.",
    "expired": "This API key is expired.",
    "no_tenant": "This API key's tenant no longer exists.",
    "tenant_disabled": "This API key's tenant is disabled.",
}

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
        self._script = LuaScript.named("admit.lua", GRANT_FIELDS=GRANT_FIELDS, TENANT_GRANT_FIELDS=TENANT_GRANT_FIELDS)
        # Each key's tenant and its time zone, as the store last said (admit.lua answers 'tenant'
        # when they changed): the spend counters a request is charged to are named by them.
        self._tenant_of: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._calendar = Calendar()
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
        cost: int = 0,
        _retried: bool = False,
    ) -> Grant:
        """charge=False: only check the key. generates=False: count the request against the key's
        request rate only (no tokens, budget or in-flight lease: nothing will settle it). cost: the
        request's worst case in nano-dollars, reserved against the key's and its tenant's budgets."""
        now = time.time()
        day = day_number(now)
        tenant, zone = self._tenant_of.get(key_hash, _NO_TENANT)
        periods = self._calendar.periods(zone, now)
        lease = uuid.uuid4().hex if charge and generates else ""
        for _ in range(5):  # the store may name another day, tenant or time zone: then use its
            result = await self._run(key_hash, alias, estimate, charge, generates, day, lease, tenant, periods, cost)
            if result is None:
                return self._serve_unchecked(key_hash)
            if result[0] == "day":
                day = int(result[4])  # the 'day' reply: status, id, name, models, the store's day
            elif result[0] == "tenant":  # status, id, name, models, the tenant, its time zone
                tenant, zone = str(result[4]), str(result[5])
                self._learn_tenant(key_hash, tenant, zone)
                periods = self._calendar.periods(zone, now)
            else:
                break
        else:
            raise StoreUnavailable("The key's day or tenant kept moving. Retry.", headers={"retry-after": "1"})
        status = result[0]
        if status == "unknown" and not _retried and self._reinstall is not None and await self._reinstall(key_hash):
            return await self.admit(
                key_hash, alias, estimate, charge=charge, generates=generates, cost=cost, _retried=True
            )
        if status in ("unknown", "disabled", "expired", "no_tenant", "tenant_disabled"):
            self._verified.forget(key_hash)
            self._metrics.auth_failures.inc()
            raise InvalidAPIKey(_REFUSED[status])
        if status == "forbidden":
            raise ModelNotFound(alias)
        if not charge:
            looked = Looked(*result[:LOOKED])
            grants = KeyGrants.from_reply(result[LOOKED:])
            models = models_of(looked.models, looked.tenant_models)
            self._remember(key_hash, looked, models, grants, tpm=looked.tpm, daily=looked.daily)
            return Grant(
                looked.key_id, key_hash, looked.name, models, 0, 0, False, False, {}, grants=grants, tenant=tenant
            )
        reply = Charged(*result[:CHARGED])
        grants = KeyGrants.from_reply(result[CHARGED:])
        models = models_of(reply.models, reply.tenant_models)
        if generates:  # a usage report's result leaves out the key's token limits: not worth remembering
            self._remember(key_hash, reply, models, grants, tpm=reply.tpm, daily=reply.daily)
        budget_left = periods.seconds_left(reply.budget_period, now) if status == "budget" else 0
        if status != "ok":
            self._metrics.rate_limited.labels(status).inc()
            self._note_refusal(key_hash, reply.retry_ms or budget_left * 1000)
        elif self._refused_until:
            self._refused_until.pop(key_hash, None)
        headers = limit_headers(reply)
        admitted = status == "ok"
        return Grant(
            key_id=reply.key_id,
            key_hash=key_hash,
            name=reply.name,
            models=models,
            estimate=estimate if admitted else 0,
            bucket=reply.second,
            has_token_limit=reply.tpm > 0,
            has_daily_budget=reply.daily > 0,
            headers=headers,
            refusal=None if admitted else refusal(reply, estimate, headers, budget_left),
            day=reply.day,
            lease=lease if admitted and reply.max_in_flight > 0 else "",
            grants=grants,
            tenant=tenant,
            periods=periods,
            reserved=cost if admitted and generates else 0,
        )

    def _learn_tenant(self, key_hash: str, tenant: str, zone: str) -> None:
        self._tenant_of[key_hash] = (tenant, zone)
        self._tenant_of.move_to_end(key_hash)
        if len(self._tenant_of) > 100_000:
            self._tenant_of.popitem(last=False)

    async def _run(
        self,
        key_hash: str,
        alias: str,
        estimate: int,
        charge: bool,
        generates: bool,
        day: int,
        lease: str,
        tenant: str,
        periods: BudgetPeriods,
        cost: int,
    ) -> list[Any] | None:
        """admit.lua's result, or None when the store failed and the policy says serve anyway."""
        keys = [key_for(key_hash, s) for s in ("key", "rpm", "tpm", f"day:{day_name(day)}", "inflight")]
        keys += spend_keys(key_hash, tenant, periods, with_record=True)
        mode = "0" if not charge else ("1" if generates else "2")
        args: list[str | int] = [alias, estimate, mode, day, lease, self._lease_ms, tenant, cost, periods.time_zone]
        started = time.perf_counter()
        try:
            raw = await self._script.run(self._redis, keys, args)
            self._metrics.store_round_trip.observe(time.perf_counter() - started)
        except STORE_ERRORS as exc:
            self.healthy = False
            self._store_failed(exc)
            return None
        if not self.healthy:
            self.healthy = True
            log.info("key store is back")
            if self._on_store_recovered is not None:
                self._on_store_recovered()
        return [v.decode() if isinstance(v, bytes) else v for v in raw]

    def _remember(
        self,
        key_hash: str,
        reply: Looked | Charged,
        models: frozenset[str] | None,
        grants: KeyGrants,
        *,
        tpm: int,
        daily: int,
    ) -> None:
        self._verified.remember(key_hash, VerifiedKey(reply.key_id, reply.name, models, tpm > 0, daily > 0, grants))

    def _store_failed(self, exc: Exception) -> None:
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
        tenant, zone = self._tenant_of.get(key_hash, _NO_TENANT)
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
            grants=known.grants,
            tenant=tenant,
            periods=self._calendar.periods(zone, now),
        )
