"""One replica of a backend: its base URL, what it is doing (requests in flight from this
instance, the engine's own queue as last scraped from its /metrics), and its breaker."""

from __future__ import annotations

from dataclasses import dataclass

from serving.backends.breaker import BreakerPolicy, CircuitBreaker


@dataclass(slots=True)
class EngineLoad:
    """vLLM's own gauges (all of its clients' requests, not only ours)."""

    running: float = 0.0
    waiting: float = 0.0
    kv_cache: float = 0.0  # 0..1
    scraped_at: float = 0.0
    others: float = 0.0  # at the scrape: its requests that were not ours (other instances')


class Endpoint:
    def __init__(self, base_url: str, breaker: BreakerPolicy) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = self.base_url.split("://", 1)[-1].split("/", 1)[0]  # host:port, a metric label
        self.breaker = CircuitBreaker(breaker)
        self.in_flight = 0
        self.engine = EngineLoad()
        self.draining = False  # gone from discovery: no new requests, the running ones finish
        self.served = 0

    @property
    def root_url(self) -> str:
        """The server's root (vLLM's /metrics is not under /v1)."""
        return self.base_url.removesuffix("/v1")

    def load(self, max_age: float, now: float) -> float:
        """Requests this endpoint has to get through: ours in flight (exact, now), plus what
        other façade instances had there at the last scrape of the engine's gauges."""
        if now - self.engine.scraped_at <= max_age:
            return self.in_flight + self.engine.others
        return float(self.in_flight)

    def scraped(self, running: float, waiting: float, kv_cache: float, now: float) -> None:
        self.engine = EngineLoad(running, waiting, kv_cache, now, max(0.0, running + waiting - self.in_flight))

    def __repr__(self) -> str:
        return f"Endpoint({self.base_url}, in_flight={self.in_flight}, {self.breaker.state})"
