"""The circuit breaker's states on their own: closed, open, half-open probes, closed again."""

from __future__ import annotations

from serving.backends.breaker import BreakerPolicy, CircuitBreaker


def test_opens_after_consecutive_failures_and_probes_after_the_open_period() -> None:
    breaker = CircuitBreaker(BreakerPolicy(consecutive_failures=3, open_seconds=5))
    assert not breaker.failed(0, "e") and not breaker.failed(1, "e")
    assert breaker.failed(2, "e") and breaker.state == "open"
    assert not breaker.available(6)  # still open
    assert breaker.available(7.5) and breaker.state == "half_open"
    breaker.sent()
    assert not breaker.available(7.6)  # one probe at a time
    breaker.released()  # the probe's client hung up: no verdict, the slot is free again
    assert breaker.available(7.7)
    breaker.sent()
    assert breaker.failed(8, "e") and breaker.state == "open"  # a failed probe reopens it
    assert breaker.available(13.5)
    breaker.sent()
    breaker.succeeded(14)
    assert breaker.state == "closed" and breaker.last_error is None


def test_opens_on_an_error_rate_over_the_window() -> None:
    policy = BreakerPolicy(consecutive_failures=100, error_rate=0.5, min_requests=10, window_seconds=10)
    breaker = CircuitBreaker(policy)
    for t in range(10):
        if t % 2:
            breaker.failed(t, "e")
        else:
            breaker.succeeded(t)
    assert breaker.state == "open"  # 5 of 10 failed
    fresh = CircuitBreaker(BreakerPolicy(consecutive_failures=100, error_rate=0.5, min_requests=10, window_seconds=3))
    for t in range(10):
        if t % 2:
            fresh.failed(t, "e")
        else:
            fresh.succeeded(t)
    assert fresh.state == "closed"  # old outcomes leave the window: never 10 in it


def test_a_stream_sent_before_the_breaker_opened_frees_no_probe_slot() -> None:
    """#26 item 4: `released()` freed a probe slot for any request that ended, so long streams
    sent while the breaker was closed let extra probes through to a suspect replica."""
    breaker = CircuitBreaker(BreakerPolicy(consecutive_failures=1, open_seconds=5, half_open_probes=1))
    for _ in range(3):  # three long streams out while all is well
        breaker.sent()
    breaker.sent()
    assert breaker.failed(1, "e") and breaker.state == "open"  # a fourth request fails: open
    breaker.released()
    assert breaker.available(7) and breaker.state == "half_open"
    breaker.sent()  # the one probe
    probes_let_through = 1
    for _ in range(3):  # the old streams end now, one by one, with no verdict
        breaker.released()
        if breaker.available(7.5):
            breaker.sent()
            probes_let_through += 1
    assert probes_let_through == 1
    breaker.released()  # the probe itself ends with no verdict: its slot is free again
    assert breaker.available(8)
