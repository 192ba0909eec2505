"""A backend's health as /health/ready reports it: the tier as a whole, and each endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from serving.backends.endpoint import Endpoint


@dataclass
class BackendHealth:
    """The tier as a whole: down when no endpoint's breaker lets requests through."""

    state: Literal["unknown", "healthy", "down"] = "unknown"
    last_error: str | None = None
    down_until: float = 0.0
    consecutive_failures: int = 0

    def is_skippable(self, now: float) -> bool:
        return self.state == "down" and now < self.down_until


def endpoint_report(endpoints: list[Endpoint]) -> list[dict[str, object]]:
    """Per endpoint: breaker, in-flight, draining, the engine's scraped load, the last error."""
    return [
        {
            "endpoint": e.name,
            "breaker": e.breaker.state,
            "in_flight": e.in_flight,
            "draining": e.draining,
            "engine": {"running": e.engine.running, "waiting": e.engine.waiting, "kv_cache": e.engine.kv_cache}
            if e.engine.scraped_at
            else None,
            "error": e.breaker.last_error,
        }
        for e in endpoints
    ]
