"""Settlement: at the end of a request, replace the up-front token estimate with what was used
and add the request to the key's usage (settle.lua, one round trip, off the request's path).

Never loses an accepted request: when the store is down, settlements wait in a bounded
backlog and are replayed when admission sees the store again."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Coroutine
from typing import Any

from serving.access.limits import Grant, day_name
from serving.access.prices import PriceList
from serving.access.spend import spend_keys
from serving.observability.metrics import Metrics
from serving.store.connection import CommandRunner, LuaScript, key_for
from serving.store.errors import STORE_ERRORS, passing

log = logging.getLogger(__name__)

Settlement = tuple[list[str], list[str | int]]


class Settlements:
    def __init__(
        self, redis: CommandRunner, *, metrics: Metrics, prices: PriceList | None = None, backlog_size: int = 100_000
    ) -> None:
        self._redis = redis
        self._metrics = metrics
        self._prices = prices
        self._script = LuaScript.named("settle.lua")
        self._backlog: deque[Settlement] = deque(maxlen=backlog_size)
        self._pending: set[asyncio.Task[None]] = set()
        self._replaying = False
        # Requests between the gateway entry's start and end: at shutdown, uvicorn cancels those
        # still running after its grace period *before* the lifespan ends, and their settlement
        # is only spawned as they unwind. drain() waits for them first.
        self._open_requests = 0
        self._no_open_requests = asyncio.Event()
        self._no_open_requests.set()

    def request_opened(self) -> None:
        self._open_requests += 1
        self._no_open_requests.clear()

    def request_closed(self) -> None:
        self._open_requests -= 1
        if self._open_requests == 0:
            self._no_open_requests.set()

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    def settle_later(
        self,
        grant: Grant,
        *,
        alias: str,
        prompt: int,
        completion: int,
        failed: bool,
        backend: str | None = None,
        cached: int = 0,
        estimated: bool = False,
    ) -> None:
        """Settle after the response, off the request's path; drain() waits for these at shutdown."""
        work = self.settle(
            grant,
            alias=alias,
            prompt=prompt,
            completion=completion,
            failed=failed,
            backend=backend,
            cached=cached,
            estimated=estimated,
        )
        self._spawn(work)

    def store_recovered(self) -> None:
        """Admission reached the store again: replay what waited."""
        if self._backlog and not self._replaying:
            log.info("replaying the usage backlog", extra={"backlog": len(self._backlog)})
            self._spawn(self._replay_backlog())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self, *, requests_timeout: float = 5.0, settlements_timeout: float = 15.0) -> None:
        """At shutdown: let open requests finish unwinding, then wait for every settlement."""
        try:
            async with asyncio.timeout(requests_timeout):
                await self._no_open_requests.wait()
        except TimeoutError:
            log.error("requests still open at shutdown; their usage is lost", extra={"open": self._open_requests})
        if self._pending:  # each settlement is bounded by the store's timeouts; the wait is too
            _, late = await asyncio.wait(set(self._pending), timeout=settlements_timeout)
            if late:
                log.error("settlements still running at shutdown; their usage is lost", extra={"open": len(late)})

    async def settle(
        self,
        grant: Grant,
        *,
        alias: str,
        prompt: int,
        completion: int,
        failed: bool,
        backend: str | None = None,
        cached: int = 0,
        estimated: bool = False,
    ) -> None:
        """Never raises: when the store is down, the settlement waits in the backlog. Counted
        on the day of admission (a stream across midnight corrects the budget it was charged to).
        The real cost is the answering backend's prices times what it used."""
        settlement = self.settlement_of(
            grant,
            alias=alias,
            prompt=prompt,
            completion=completion,
            failed=failed,
            backend=backend,
            cached=cached,
            estimated=estimated,
        )
        await self._apply(settlement)

    def settlement_of(
        self,
        grant: Grant,
        *,
        alias: str,
        prompt: int,
        completion: int,
        failed: bool,
        backend: str | None = None,
        cached: int = 0,
        estimated: bool = False,
    ) -> Settlement:
        """settle.lua's keys and arguments for one request, marked with an id of its own."""
        day = day_name(grant.day)
        keys = [
            key_for(grant.key_hash, "tpm"),
            key_for(grant.key_hash, f"day:{day}"),
            key_for(grant.key_hash, f"usage:{day}"),
            key_for(grant.key_hash, "inflight"),
        ]
        cost = self._prices.cost(backend, prompt, completion, cached) if self._prices is not None else 0
        if estimated and self._prices is not None and not self._prices.counts_exactly(backend):
            # A stream cut short on a provider's backend: what it billed (reasoning included) is
            # unknown, so it costs what was reserved for it, never less than the events relayed.
            cost = max(cost, grant.reserved)
        periods = grant.periods
        if periods is not None:
            keys += spend_keys(grant.key_hash, grant.tenant, periods)
        else:  # a grant of a caller that charges no spend: the same slot, never touched
            cost, keys = 0, keys + [key_for(grant.key_hash, "no-tenant")] * 4
        args: list[str | int] = [
            grant.bucket,
            prompt + completion,
            grant.estimate,
            alias,
            prompt,
            completion,
            "1" if failed else "0",
            "1" if grant.has_token_limit else "0",
            "1" if grant.has_daily_budget else "0",
            grant.lease,
            cost,
            grant.reserved,
            "1" if grant.tenant and periods is not None else "0",
            cached,
        ]
        keys.append(key_for(grant.key_hash, f"settled:{uuid.uuid4().hex}"))  # one mark per settlement
        return keys, args

    async def _apply(self, settlement: Settlement) -> bool:
        try:
            await self._script.run(self._redis, settlement[0], settlement[1])
        except STORE_ERRORS as exc:
            self._metrics.store_errors.inc()
            if not passing(exc):  # the store answered "no" (WRONGTYPE, OOM): retrying cannot help
                log.error("usage settlement refused by the store", extra={"error_type": type(exc).__name__})
                return True
            if len(self._backlog) == self._backlog.maxlen:
                log.error("usage backlog full: dropping the oldest settlement")
            self._backlog.append(settlement)
            log.warning("usage settlement deferred", extra={"error_type": type(exc).__name__})
            return False
        if self._backlog and not self._replaying:
            self._spawn(self._replay_backlog())  # the store answers again: what waited goes now
        return True

    async def _replay_backlog(self) -> None:
        self._replaying = True
        try:
            while self._backlog:
                if not await self._apply(self._backlog.popleft()):
                    return  # the store went away again; the next success resumes
        finally:
            self._replaying = False
