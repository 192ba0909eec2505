"""A circuit breaker for one endpoint: closed → open after consecutive failures or an error rate
over a window → half-open after a while (a few probe requests) → closed on a success.

Failures are what the endpoint did, not the client: connection errors, 5xx, timeouts
(the first byte too late included) and streams broken mid-way. Like Envoy's outlier
detection, in process: each façade instance keeps its own breakers."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]
STATE_VALUE: dict[BreakerState, int] = {"closed": 0, "half_open": 1, "open": 2}


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    consecutive_failures: int = 1  # 1: any failure opens it (the single-backend behaviour: a cooldown)
    error_rate: float = 0.5  # or this share of failures within the window...
    min_requests: int = 20  # ...once the window holds this many outcomes
    window_seconds: float = 10.0
    open_seconds: float = 5.0
    half_open_probes: int = 1


class CircuitBreaker:
    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self.state: BreakerState = "closed"
        self.opened_at = 0.0
        self.consecutive = 0
        self.last_error: str | None = None
        self._outcomes: deque[tuple[float, bool]] = deque()
        self._probes = 0
        self._outstanding = 0  # requests sent and not yet released, whatever the state then
        self._older = 0  # of those, sent before the breaker went half-open: never probes

    def available(self, now: float) -> bool:
        """May a request be sent now? (A half-open breaker lets a few probes through.)"""
        if self.state == "closed":
            return True
        if self.state == "open" and now - self.opened_at >= self.policy.open_seconds:
            self.state, self._probes, self._older = "half_open", 0, self._outstanding
        return self.state == "half_open" and self._probes < self.policy.half_open_probes

    def sent(self) -> None:
        self._outstanding += 1
        if self.state == "half_open":
            self._probes += 1

    def released(self) -> None:
        """A request ended. In half-open, a request sent before it (a long stream) frees no probe
        slot: the ended one is counted against those first, so no more than `half_open_probes`
        probes are ever out at once (when unsure, one fewer)."""
        self._outstanding = max(0, self._outstanding - 1)
        if self.state != "half_open":
            return
        if self._older:
            self._older -= 1
        elif self._probes:
            self._probes -= 1

    def succeeded(self, now: float) -> None:
        self.consecutive = 0
        self._record(now, ok=True)
        if self.state != "closed":
            self.state, self.last_error = "closed", None
            self._outcomes.clear()

    def failed(self, now: float, error: str) -> bool:
        """Count a failure; True when it opened the breaker."""
        self.consecutive += 1
        self.last_error = error
        self._record(now, ok=False)
        if self.state == "half_open" or (self.state == "closed" and self._tripped()):
            self.state, self.opened_at = "open", now
            return True
        if self.state == "open":
            self.opened_at = now  # a last-resort request failed too: stay open, from now
        return False

    def _tripped(self) -> bool:
        if self.consecutive >= self.policy.consecutive_failures:
            return True
        if len(self._outcomes) < self.policy.min_requests:
            return False
        failures = sum(1 for _, ok in self._outcomes if not ok)
        return failures / len(self._outcomes) >= self.policy.error_rate

    def _record(self, now: float, *, ok: bool) -> None:
        self._outcomes.append((now, ok))
        horizon = now - self.policy.window_seconds
        while self._outcomes and self._outcomes[0][0] < horizon:
            self._outcomes.popleft()
