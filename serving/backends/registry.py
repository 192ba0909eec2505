"""Model aliases resolved to ordered backends; the first healthy one wins."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from serving.backends.backend import Backend
from serving.settings import ServingConfig


class BackendRegistry:
    def __init__(self, config: ServingConfig) -> None:
        self.backends = {name: Backend(name, backend) for name, backend in config.backends.items()}
        self.aliases: dict[str, list[Backend]] = {
            alias: [self.backends[name] for name in names] for alias, names in config.models.items()
        }
        self.created = int(time.time())

    async def start(self) -> None:
        for backend in self.backends.values():
            await backend.start()

    async def close(self) -> None:
        await asyncio.gather(*(backend.close() for backend in self.backends.values()))

    def self_hosted(self, alias: str) -> bool:
        """Every backend of the alias is ours (vllm, data policy allow) and admits requests
        without a queue: a request may leave for it before its admission is known
        (serving/gateway/pipeline.py), since nothing leaves the network and no queue place is taken."""
        backends = self.aliases.get(alias) or []
        return bool(backends) and all(
            b.config.kind == "vllm"
            and b.config.policy == "allow"
            and b.config.concurrency.max_in_flight_per_endpoint == 0
            for b in backends
        )

    def candidates(self, alias: str) -> list[Backend]:
        """The alias's backends in configured order, those cooling down after a failure last."""
        backends = self.aliases[alias]
        now = time.monotonic()
        if not any(backend.health.is_skippable(now) for backend in backends):
            return backends
        ready = [b for b in backends if not b.health.is_skippable(now)]
        return ready + [b for b in backends if b.health.is_skippable(now)]

    async def readiness(self, timeout: float = 2.0) -> tuple[bool, dict[str, Any]]:
        """Probe every backend concurrently; ready when every alias has a reachable backend."""
        names = list(self.backends)
        results = await asyncio.gather(*(self.backends[name].probe(timeout) for name in names))
        reachable = dict(zip(names, results, strict=True))
        states = {
            name: {
                "kind": backend.config.kind,
                "state": "healthy" if reachable[name] else "down",
                "error": backend.health.last_error,
                "in_flight": backend.in_flight,
                "queued": backend.queued,
                "endpoints": backend.report(),
            }
            for name, backend in self.backends.items()
        }
        models = {
            alias: {
                "ready": any(reachable[b.name] for b in members),
                "backends": [b.name for b in members],
            }
            for alias, members in self.aliases.items()
        }
        ready = all(model["ready"] for model in models.values())
        return ready, {"status": "ready" if ready else "unavailable", "models": models, "backends": states}
