"""Model aliases resolved to ordered backends; the first healthy one wins."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from serving.backends.upstream import Upstream
from serving.settings import ServingConfig


class BackendRegistry:
    def __init__(self, config: ServingConfig) -> None:
        self.upstreams = {name: Upstream(name, backend) for name, backend in config.backends.items()}
        self.aliases: dict[str, list[Upstream]] = {
            alias: [self.upstreams[name] for name in names] for alias, names in config.models.items()
        }
        self.created = int(time.time())

    async def start(self) -> None:
        for upstream in self.upstreams.values():
            await upstream.start()

    async def close(self) -> None:
        await asyncio.gather(*(upstream.close() for upstream in self.upstreams.values()))

    def candidates(self, alias: str) -> list[Upstream]:
        """The alias's backends in configured order, those cooling down after a failure last."""
        upstreams = self.aliases[alias]
        now = time.monotonic()
        if not any(upstream.health.is_skippable(now) for upstream in upstreams):
            return upstreams
        ready = [u for u in upstreams if not u.health.is_skippable(now)]
        return ready + [u for u in upstreams if u.health.is_skippable(now)]

    async def readiness(self, timeout: float = 2.0) -> tuple[bool, dict[str, Any]]:
        """Probe every backend concurrently; ready when every alias has a reachable backend."""
        names = list(self.upstreams)
        results = await asyncio.gather(*(self.upstreams[name].probe(timeout) for name in names))
        reachable = dict(zip(names, results, strict=True))
        backends = {
            name: {
                "kind": upstream.config.kind,
                "state": "healthy" if reachable[name] else "down",
                "error": upstream.health.last_error,
                "in_flight": upstream.in_flight,
            }
            for name, upstream in self.upstreams.items()
        }
        models = {
            alias: {
                "ready": any(reachable[u.name] for u in upstreams),
                "backends": [u.name for u in upstreams],
            }
            for alias, upstreams in self.aliases.items()
        }
        ready = all(model["ready"] for model in models.values())
        return ready, {"status": "ready" if ready else "unavailable", "models": models, "backends": backends}
