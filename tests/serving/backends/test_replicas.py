"""A backend of several replicas, in-process over real simulator servers: balancing (least
outstanding requests, prefix affinity with bounded loads), breakers, the first-byte timeout,
the admission queue and its priorities, discovery's joins and drains."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest

from loadtests.devstack.vllm_cpu import free_port
from loadtests.simulator import Behaviour
from serving.backends.backend import Backend
from serving.backends.load import parse_engine_load
from serving.settings import BackendConfig
from tests.support.inprocess import AUTH, RunningApp, RunningSimulator, running_app, simulator_server
from tests.support.stack import facade_config
from tests.support.wait import eventually_async

FAST = Behaviour(ttft_ms=5, itl_ms=2, tokens=8)
SLOW = Behaviour(ttft_ms=5, itl_ms=40, tokens=8)


BATCH_KEY = "sk-test-nightly-batch-0123456789abcdef"


@asynccontextmanager
async def replicas(
    behaviours: list[Behaviour], **backend: Any
) -> AsyncIterator[tuple[RunningApp, list[RunningSimulator]]]:
    async with AsyncExitStack() as stack:
        sims = [await stack.enter_async_context(simulator_server(b)) for b in behaviours]
        group = {
            "kind": "vllm",
            "base_url": sims[0].base_url,
            "endpoints": [s.base_url for s in sims[1:]],
            "model": "m",
            "scrape_load_seconds": 0,
            **backend,
        }
        config = facade_config({"group": group}, {"medgemma": ["group"]})
        config["keys"].append({"key": BATCH_KEY, "name": "nightly", "priority": "batch"})
        app = await stack.enter_async_context(running_app(config))
        yield app, sims


def chat(content: str, **extra: Any) -> dict[str, Any]:
    return {"model": "medgemma", "messages": [{"role": "user", "content": content}], "stream": True, **extra}


async def send_all(app: RunningApp, bodies: list[dict[str, Any]], headers: dict[str, str] | None = None) -> list[int]:
    async def one(body: dict[str, Any]) -> int:
        response = await app.client.post("/v1/chat/completions", json=body, headers={**AUTH, **(headers or {})})
        return response.status_code

    return list(await asyncio.gather(*(one(body) for body in bodies)))


async def clients(app: RunningApp, workers: int, each: int) -> list[int]:
    """`workers` clients, each sending `each` requests one after another (continuous arrivals)."""

    async def worker(number: int) -> list[int]:
        return [
            (
                await app.client.post("/v1/chat/completions", json=chat(f"client {number} question {i}"), headers=AUTH)
            ).status_code
            for i in range(each)
        ]

    return [status for statuses in await asyncio.gather(*(worker(n) for n in range(workers))) for status in statuses]


async def test_least_outstanding_sends_fewer_requests_to_the_slow_replica() -> None:
    async with replicas([FAST, FAST, SLOW], prefix_affinity=False) as (app, sims):
        assert await clients(app, workers=12, each=8) == [200] * 96
    fast, slow = sims[0].requests + sims[1].requests, sims[2].requests
    assert fast + slow == 96
    assert slow < 96 / 3 * 0.6, (fast, slow)  # round robin gives it a third


async def test_round_robin_spreads_evenly_for_comparison() -> None:
    async with replicas([FAST, FAST, SLOW], balancing="round_robin", prefix_affinity=False) as (app, sims):
        assert await clients(app, workers=12, each=8) == [200] * 96
    assert [s.requests for s in sims] == [32, 32, 32]


def prefix_hit_rate(sims: list[RunningSimulator]) -> float:
    hits = sum(s.simulator.prefix_hits for s in sims)
    lookups = sum(s.simulator.prefix_lookups for s in sims)
    return hits / lookups


CACHING = Behaviour(ttft_ms=30, itl_ms=2, tokens=4, prefix_ttft_ms=3)


async def conversations(app: RunningApp) -> None:
    """Seven conversations of six turns: each turn resends the same system prompt and first
    question (seven, not a multiple of the replicas: round robin must not line up by chance)."""
    for turn in range(6):
        bodies = []
        for conversation in range(7):
            messages = [
                {"role": "system", "content": f"You are assistant number {conversation}."},
                {"role": "user", "content": f"First question of conversation {conversation}"},
                {"role": "assistant", "content": "An answer."},
                {"role": "user", "content": f"Follow-up {turn}"},
            ]
            bodies.append({"model": "medgemma", "messages": messages, "stream": True})
        assert await send_all(app, bodies) == [200] * 7


async def test_prefix_affinity_raises_the_prefix_cache_hit_rate() -> None:
    async with replicas([CACHING] * 4, balancing="round_robin") as (app, sims):
        await conversations(app)
        round_robin = prefix_hit_rate(sims)
    async with replicas([CACHING] * 4, prefix_affinity=True) as (app, sims):
        await conversations(app)
        affinity = prefix_hit_rate(sims)
    # Seven prefixes over four replicas: round robin meets each prefix on ~every replica
    # before it hits; affinity keeps each on one (a single replica's rate would be 35/42).
    assert affinity >= 35 / 42 - 0.10, affinity
    assert affinity > round_robin + 0.15, (affinity, round_robin)


async def test_a_session_header_pins_a_conversation() -> None:
    async with replicas([FAST] * 3) as (app, sims):
        for turn in range(6):
            await send_all(app, [chat(f"turn {turn}, a different prompt each time")], {"x-session-id": "conv-42"})
    assert sorted(s.requests for s in sims) == [0, 0, 6]


async def test_bounded_loads_spread_one_hot_prefix() -> None:
    slowish = Behaviour(ttft_ms=5, itl_ms=10, tokens=10)
    async with replicas([slowish] * 4, affinity_bound=1.25) as (app, sims):
        statuses = await send_all(app, [chat("the same hot prompt")] * 40)
    assert statuses == [200] * 40
    peaks = [s.simulator.peak_running for s in sims]
    # All 40 share one key: without the bound one replica would take all 40 at once.
    assert max(peaks) <= 14 and sum(1 for p in peaks if p) >= 3, peaks


async def test_a_dead_replica_opens_its_breaker_and_closes_when_back() -> None:
    dead_port = free_port()
    async with simulator_server(FAST) as live:
        group = {
            "kind": "vllm",
            "base_url": live.base_url,
            "endpoints": [f"http://127.0.0.1:{dead_port}/v1"],
            "model": "m",
            "prefix_affinity": False,
            "scrape_load_seconds": 0,
            "cooldown_seconds": 1.0,
            "breaker": {"consecutive_failures": 2},
        }
        async with running_app(facade_config({"group": group}, {"medgemma": ["group"]})) as app:
            statuses = await send_all(app, [chat(f"q{i}") for i in range(20)])
            assert statuses == [200] * 20  # a refused connection is retried on the other replica
            backend = app.app.state.services.registry.backends["group"]
            dead = backend.endpoints[1]
            assert dead.breaker.state == "open"
            # The burst was spread before any failure was known; once open, nothing more goes there.
            failed_before = app.metric("pearcare_backend_requests_total", backend="group", outcome="unreachable")
            assert await send_all(app, [chat(f"w{i}") for i in range(20)]) == [200] * 20
            assert (
                app.metric("pearcare_backend_requests_total", backend="group", outcome="unreachable") == failed_before
            )
            async with simulator_server(FAST, port=dead_port) as revived:

                async def half_open() -> bool:  # the breaker's open period ends: it lets a probe through
                    return dead.breaker.available(time.monotonic())

                await eventually_async(half_open)
                for _ in range(6):
                    assert await send_all(app, [chat(f"again {i}") for i in range(10)]) == [200] * 10
                assert dead.breaker.state == "closed"
                assert revived.requests >= 10
            ready = (await app.client.get("/health/ready")).json()
            assert {e["endpoint"] for e in ready["backends"]["group"]["endpoints"]} == {
                live.base_url.split("//")[1].split("/")[0],
                f"127.0.0.1:{dead_port}",
            }


async def test_a_stalled_replica_is_failed_over_by_the_first_byte_timeout() -> None:
    stalled = Behaviour(hang_ms=30_000)
    async with replicas(
        [stalled, FAST],
        prefix_affinity=False,
        balancing="round_robin",
        timeouts={"first_byte": 0.3},
        cooldown_seconds=30,
    ) as (app, sims):
        started = asyncio.get_running_loop().time()
        statuses = await send_all(app, [chat(f"q{i}") for i in range(6)])
        elapsed = asyncio.get_running_loop().time() - started
        backend = app.app.state.services.registry.backends["group"]
        assert statuses == [200] * 6
        assert backend.endpoints[0].breaker.state == "open"
    assert elapsed < 5  # bounded by the first-byte timeout, not the 30 s hang
    assert sims[1].requests == 6


async def test_a_full_queue_answers_503_with_retry_after_and_keeps_what_it_accepted() -> None:
    slow = Behaviour(ttft_ms=5, itl_ms=50, tokens=6)
    async with replicas(
        [slow],
        concurrency={"max_in_flight_per_endpoint": 1, "queue_size": 1, "max_wait_seconds": 5},
    ) as (app, sims):
        responses = await asyncio.gather(
            *(app.client.post("/v1/chat/completions", json=chat(f"q{i}"), headers=AUTH) for i in range(3))
        )
        rejected = [r for r in responses if r.status_code == 503]
        served = [r for r in responses if r.status_code == 200]
        assert len(rejected) == 1 and len(served) == 2
        error = rejected[0].json()["error"]
        assert error["code"] == "backend_overloaded" and rejected[0].headers["retry-after"] == "1"
        assert app.metric("pearcare_backend_queue_rejections_total", backend="group", reason="queue_full") == 1
        assert app.metric("pearcare_tokens_total", alias="medgemma", kind="completion") == 12
        assert all(r.text.rstrip().endswith("data: [DONE]") for r in served)
    assert sims[0].simulator.peak_running == 1


async def test_a_wait_past_the_bound_is_refused() -> None:
    slow = Behaviour(ttft_ms=5, itl_ms=100, tokens=6)
    async with replicas(
        [slow], concurrency={"max_in_flight_per_endpoint": 1, "queue_size": 10, "max_wait_seconds": 0.1}
    ) as (app, _):
        responses = await asyncio.gather(
            *(app.client.post("/v1/chat/completions", json=chat(f"q{i}"), headers=AUTH) for i in range(2))
        )
    assert sorted(r.status_code for r in responses) == [200, 503]
    assert "within 0.1 s" in next(r for r in responses if r.status_code == 503).json()["error"]["message"]


async def test_interactive_requests_go_before_consultations_and_batch() -> None:
    slow = Behaviour(ttft_ms=5, itl_ms=30, tokens=4)
    async with replicas([slow], concurrency={"max_in_flight_per_endpoint": 1, "max_wait_seconds": 10}) as (app, _sims):
        order: list[str] = []

        async def one(name: str, priority: str | None, delay: float) -> None:
            await asyncio.sleep(delay)
            if name in ("batch", "raised"):  # the key's own priority is batch
                headers = {
                    "authorization": f"Bearer {BATCH_KEY}",
                    **({"x-pearcare-priority": priority} if priority else {}),
                }
            else:
                headers = {**AUTH, **({"x-pearcare-priority": priority} if priority else {})}
            response = await app.client.post("/v1/chat/completions", json=chat(name), headers=headers)
            assert response.status_code == 200
            order.append(name)

        await asyncio.gather(
            one("first", None, 0),  # takes the only slot
            one("batch", None, 0.02),
            one("consultation", "consultation", 0.03),
            one("interactive", None, 0.04),  # arrives last, served next
            one("raised", "interactive", 0.05),  # a header can't raise a batch key's priority...
        )
    assert order == ["first", "interactive", "consultation", "batch", "raised"]


async def test_discovery_joins_new_addresses_and_drains_missing_ones() -> None:
    answers = [["127.0.0.1"], ["127.0.0.1", "127.0.0.2"], ["127.0.0.2"]]

    async def resolver(host: str, port: int) -> list[str]:
        return answers.pop(0)

    config = BackendConfig.model_validate(
        {
            "kind": "vllm",
            "base_url": "http://vllm:8000/v1",
            "model": "m",
            "discovery": {"host": "vllm-headless", "port": 8000},
            "scrape_load_seconds": 0,
        }
    )
    backend = Backend("group", config, resolver=resolver)
    await backend.start()
    try:
        assert [e.base_url for e in backend.endpoints] == ["http://127.0.0.1:8000/v1"]
        busy = await backend.acquire(key=None, priority=0, exclude=set())
        await backend._discovery.refresh()  # type: ignore[union-attr]
        assert [e.base_url for e in backend.endpoints] == ["http://127.0.0.1:8000/v1", "http://127.0.0.2:8000/v1"]
        await backend._discovery.refresh()  # type: ignore[union-attr]
        assert busy.draining and busy in backend.endpoints  # still finishing its request
        chosen = await backend.acquire(key=None, priority=0, exclude=set())
        assert chosen.base_url == "http://127.0.0.2:8000/v1"  # a draining endpoint takes nothing new
        backend.release(busy)
        assert [e.base_url for e in backend.endpoints] == ["http://127.0.0.2:8000/v1"]
    finally:
        await backend.close()


@pytest.mark.parametrize("answer", [socket.gaierror(-2, "Name or service not known"), []])
async def test_a_dns_failure_or_an_empty_answer_keeps_the_current_set(answer: Any) -> None:
    answers: list[Any] = [["127.0.0.1", "127.0.0.2"], answer]

    async def resolver(host: str, port: int) -> list[str]:
        found = answers.pop(0)
        if isinstance(found, Exception):
            raise found
        return list(found)

    config = BackendConfig.model_validate(
        {
            "kind": "vllm",
            "base_url": "http://vllm:8000/v1",
            "model": "m",
            "discovery": {"host": "vllm-headless", "port": 8000},
            "scrape_load_seconds": 0,
        }
    )
    backend = Backend("group", config, resolver=resolver)
    await backend.start()
    try:
        before = [e.base_url for e in backend.endpoints]
        assert before == ["http://127.0.0.1:8000/v1", "http://127.0.0.2:8000/v1"]
        await backend._discovery.refresh()  # type: ignore[union-attr]
        assert [e.base_url for e in backend.endpoints] == before and not any(e.draining for e in backend.endpoints)
    finally:
        await backend.close()


async def test_each_replicas_own_load_is_scraped_from_its_metrics() -> None:
    busy = Behaviour(ttft_ms=5, itl_ms=50, tokens=20, max_running=2)
    async with replicas([busy, FAST], scrape_load_seconds=0.1, prefix_affinity=False) as (app, sims):
        backend = app.app.state.services.registry.backends["group"]
        # Load arriving from elsewhere (another façade instance): straight at the first replica.
        async with httpx.AsyncClient(timeout=10) as other:
            body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}
            elsewhere = [
                asyncio.create_task(other.post(sims[0].base_url + "/chat/completions", json=body)) for _ in range(4)
            ]
            first = backend.endpoints[0]

            async def scraped() -> tuple[int, int]:  # the replica's /metrics read by the façade
                return first.engine.running, first.engine.waiting

            await eventually_async(scraped, lambda load: load == (2, 2))
            assert first.load(1.0, time.monotonic()) == 4  # none of it ours
            statuses = await send_all(app, [chat(f"q{i}") for i in range(4)])
            await asyncio.gather(*elsewhere)
    assert statuses == [200] * 4
    assert sims[1].requests == 4  # ours all went to the idle replica


def test_engine_gauges_are_read_under_both_names() -> None:
    old = 'vllm:num_requests_running{model_name="m"} 3\nvllm:num_requests_waiting{model_name="m"} 1\n'
    old += 'vllm:gpu_cache_usage_perc{model_name="m"} 0.5\n'
    assert parse_engine_load(old) == (3.0, 1.0, 0.5)
    assert parse_engine_load("# nothing of vLLM's\nprocess_cpu_seconds_total 2\n") is None


def test_a_replica_that_left_leaves_the_gauges_too() -> None:
    import fakeredis

    from serving.backends.registry import BackendRegistry
    from serving.observability.metrics import Metrics
    from serving.readiness import Readiness
    from serving.settings import ServingConfig, StoreConfig

    group = {
        "kind": "vllm",
        "base_url": "http://10.0.0.1:8000/v1",
        "endpoints": ["http://10.0.0.2:8000/v1"],
        "model": "m",
    }
    registry = BackendRegistry(ServingConfig.model_validate(facade_config({"group": group}, {"medgemma": ["group"]})))
    metrics = Metrics()
    readiness = Readiness(registry=registry, redis=fakeredis.FakeAsyncRedis(), store=StoreConfig(), metrics=metrics)

    def breakers() -> set[str]:
        return {
            sample.labels["endpoint"]
            for family in metrics.registry.collect()
            if family.name == "pearcare_endpoint_breaker_state"
            for sample in family.samples
        }

    readiness._export(metrics)
    assert breakers() == {"10.0.0.1:8000", "10.0.0.2:8000"}
    registry.backends["group"].set_endpoints(["http://10.0.0.1:8000/v1"])
    readiness._export(metrics)
    assert breakers() == {"10.0.0.1:8000"}
