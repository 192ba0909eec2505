"""One backend: its pool, what a failure before the first byte does to its health."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from serving.backends.backend import Backend
from serving.errors import BackendOverloaded, BackendTimeout, BackendUnavailable
from serving.settings import BackendConfig
from tests.support.inprocess import simulator_server
from tests.support.stack import refused_url
from tests.support.wait import eventually_async


def backend(url: str, **extra: object) -> Backend:
    return Backend("b", BackendConfig.model_validate({"kind": "vllm", "base_url": url, "model": "m", **extra}))


async def test_an_unreachable_backend_is_marked_down_for_its_cooldown() -> None:
    unreachable = backend(refused_url(), cooldown_seconds=30)
    await unreachable.start()
    try:
        with pytest.raises(BackendUnavailable, match="unreachable"):
            await unreachable.post(unreachable.endpoints[0], "/chat/completions", b"{}", "req-1")
    finally:
        await unreachable.close()
    health = unreachable.health
    assert (health.state, health.consecutive_failures) == ("down", 1) and health.last_error
    unreachable.succeeded()
    assert (unreachable.health.state, unreachable.health.consecutive_failures) == ("healthy", 0)


async def test_a_backend_that_does_not_answer_in_time() -> None:
    async with simulator_server() as sim:
        slow = backend(sim.base_url, timeouts={"connect": 1, "read": 0.2})
        await slow.start()
        try:
            with pytest.raises(BackendTimeout):
                await slow.post(
                    slow.endpoints[0],
                    "/chat/completions",
                    orjson.dumps({"messages": [], "simulate": {"hang_ms": 2000}}),
                    "req-2",
                )
            assert slow.health.state == "down"
            response = await slow.post(
                slow.endpoints[0], "/chat/completions", orjson.dumps({"messages": [], "max_tokens": 1}), "req-3"
            )
            assert response.status == 200
            response.release()
            assert sim.simulator.last_headers["x-request-id"] == "req-3"
        finally:
            await slow.close()


def test_a_backend_must_be_started_first() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = backend(refused_url()).session


async def test_a_newcomer_takes_an_idle_endpoint_that_the_waiter_ahead_has_excluded() -> None:
    """#26 item 3: a waiter that excluded an endpoint (after a 429 there) must not make a
    newcomer queue behind it while that endpoint sits idle."""
    replicas = backend(
        "http://127.0.0.1:9/v1",
        endpoints=["http://127.0.0.2:9/v1"],
        concurrency={"max_in_flight_per_endpoint": 1, "max_wait_seconds": 5},
    )
    first, second = replicas.endpoints
    taken = [await replicas.acquire(key=None, priority=0, exclude=set()) for _ in range(2)]
    assert set(taken) == {first, second}
    # A retry that may not go back to `second` waits for `first`...
    retry = asyncio.ensure_future(replicas.acquire(key=None, priority=0, exclude={second}))

    async def queued() -> int:
        return replicas.queued

    await eventually_async(queued, lambda count: count == 1)
    replicas.release(second)  # ...and `second` frees up: the retry looks and may not take it.
    await eventually_async(queued, lambda count: count == 1 and not retry.done())
    newcomer = await asyncio.wait_for(replicas.acquire(key=None, priority=0, exclude=set()), timeout=2)
    assert newcomer is second and not retry.done()
    replicas.release(first)
    assert await asyncio.wait_for(retry, timeout=2) is first


async def test_panic_every_breaker_open_gives_the_least_recently_failed_replica_one_try() -> None:
    replicas = backend("http://127.0.0.1:9/v1", endpoints=["http://127.0.0.2:9/v1"], cooldown_seconds=60)
    first, second = replicas.endpoints
    now = time.monotonic()
    first.breaker.failed(now - 2, "refused")  # failed first: the least recently failed
    second.breaker.failed(now - 1, "refused")
    assert first.breaker.state == second.breaker.state == "open"
    chosen = await replicas.acquire(key=None, priority=0, exclude=set())
    assert chosen is first
    # A retry of the same request (something excluded) gets no last resort.
    with pytest.raises(BackendUnavailable):
        await replicas.acquire(key=None, priority=0, exclude={first})


async def test_one_queue_deadline_bounds_all_of_a_requests_attempts() -> None:
    """The second attempt of a request that already waited its turn out does not wait again:
    `deadline` is one bound for all attempts at the backend, not one per attempt."""
    capped = backend("http://127.0.0.1:9/v1", concurrency={"max_in_flight_per_endpoint": 1, "max_wait_seconds": 60})
    await capped.acquire(key=None, priority=0, exclude=set())  # the only slot, held
    deadline = time.monotonic() + 0.2
    with pytest.raises(BackendOverloaded):
        await asyncio.wait_for(capped.acquire(key=None, priority=0, exclude=set(), deadline=deadline), timeout=30)
    with pytest.raises(BackendOverloaded):  # the deadline has passed: no second minute of waiting
        await asyncio.wait_for(capped.acquire(key=None, priority=0, exclude=set(), deadline=deadline), timeout=5)
    assert capped.queued == 0
