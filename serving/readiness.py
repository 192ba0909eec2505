"""GET /health/ready's answer, from probes run in the background on a fixed interval: every
backend asked for its models, the store pinged. Unauthenticated readiness checks therefore
cost nothing and never fan out to the backends (or send our OpenAI key) per request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from serving.backends.breaker import STATE_VALUE
from serving.backends.registry import BackendRegistry
from serving.background import Periodic
from serving.observability.metrics import Metrics
from serving.settings import StoreConfig
from serving.store.connection import Store
from serving.store.errors import STORE_ERRORS

log = logging.getLogger(__name__)
_STORE_DOWN: tuple[type[Exception], ...] = (*STORE_ERRORS, TimeoutError)


class Readiness:
    def __init__(
        self,
        *,
        registry: BackendRegistry,
        redis: Store,
        store: StoreConfig,
        interval_seconds: float = 5.0,
        metrics: Metrics | None = None,
    ) -> None:
        self._registry = registry
        self._metrics = metrics
        self._exported: set[tuple[str, str]] = set()
        self._redis = redis
        self._store = store
        self._store_kind = store.address.kind if store.address is not None else "in-process"
        self._latest: tuple[bool, dict[str, Any]] | None = None
        self._every = Periodic(self._probe_once, interval=interval_seconds, name="readiness", immediately=True)

    def start(self) -> None:
        self._every.start()

    async def stop(self) -> None:
        await self._every.stop()

    def check(self) -> tuple[bool, dict[str, Any]]:
        """The latest probe's answer; not ready until the first probe finished."""
        if self._latest is None:
            return False, {"status": "starting"}
        ready, report = self._latest
        backends = report["backends"]
        for name, backend in self._registry.backends.items():  # live, not as of the probe
            backends[name]["in_flight"] = backend.in_flight
            backends[name]["queued"] = backend.queued
            backends[name]["endpoints"] = backend.report()
        return ready, report

    async def _probe_once(self) -> None:
        self._latest = await self.probe()

    def _export(self, metrics: Metrics) -> None:
        """Per-replica gauges, refreshed at each probe (breakers also when they change); a
        replica that left (discovery) leaves the gauges too."""
        present = {(b.name, e.name) for b in self._registry.backends.values() for e in b.endpoints}
        for labels in self._exported - present:
            for gauge in (metrics.endpoint_breaker, metrics.endpoint_in_flight):
                with contextlib.suppress(KeyError):
                    gauge.remove(*labels)
            for kind in ("running", "waiting", "kv_cache"):
                with contextlib.suppress(KeyError):
                    metrics.endpoint_engine_load.remove(*labels, kind)
        self._exported = present
        for backend in self._registry.backends.values():
            for endpoint in backend.endpoints:
                labels = (backend.name, endpoint.name)
                metrics.endpoint_breaker.labels(*labels).set(STATE_VALUE[endpoint.breaker.state])
                if endpoint.engine.scraped_at:
                    metrics.endpoint_engine_load.labels(*labels, "running").set(endpoint.engine.running)
                    metrics.endpoint_engine_load.labels(*labels, "waiting").set(endpoint.engine.waiting)
                    metrics.endpoint_engine_load.labels(*labels, "kv_cache").set(endpoint.engine.kv_cache)

    async def probe(self) -> tuple[bool, dict[str, Any]]:
        """A down store makes us unready only when it would fail requests (failure_policy closed)."""
        ready, report = await self._registry.readiness()
        if self._metrics is not None:
            self._export(self._metrics)
        try:
            async with asyncio.timeout(1.0):
                await self._redis.ping()
            store_up, error = True, None
        except _STORE_DOWN as exc:
            store_up, error = False, type(exc).__name__
        report["store"] = {
            "kind": self._store_kind,
            "state": "up" if store_up else "down",
            "error": error,
            "failure_policy": self._store.failure_policy,
        }
        if not store_up and self._store.failure_policy == "closed":
            ready = False
            report["status"] = "unavailable"
        return ready, report
