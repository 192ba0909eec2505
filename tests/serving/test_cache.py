"""The response cache in-process against a real Redis: opt-in twice (key and request), only
deterministic requests, scoped to the key, a hit replayed in the live answer's shape, no
tokens charged for a hit, and a broken store only ever a miss."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis

from loadtests.devstack.redis_server import RedisServer
from loadtests.simulator import Behaviour
from tests.support.inprocess import RunningApp, RunningSimulator, running_app, simulator_server
from tests.support.stack import TEST_KEY, facade_config, vllm_backend
from tests.support.wait import eventually_async

CACHING_KEY = "sk-test-caching-tenant-0123456789ab"
OTHER_CACHING_KEY = "sk-test-caching-other-0123456789ab"
SMALL_BUDGET_KEY = "sk-test-caching-budget-0123456789a"
CACHE_ON = {"x-pearcare-cache": "on"}
QUICK = Behaviour(ttft_ms=1, itl_ms=1, tokens=4)


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}", **CACHE_ON}


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": "medgemma", "messages": [{"role": "user", "content": "hello"}], "temperature": 0, **extra}


@asynccontextmanager
async def cached_stack(redis_url: str, **cache: Any) -> AsyncIterator[tuple[RunningApp, RunningSimulator]]:
    async with simulator_server(QUICK) as sim:
        config = facade_config(
            {"sim": vllm_backend(sim.base_url, "m")},
            {"medgemma": ["sim"]},
            store={"redis_url": redis_url, "allow_unauthenticated_store": True},
        )
        config["cache"] = cache
        config["keys"] += [
            {"key": CACHING_KEY, "name": "caching", "response_cache": True, "tpm": 100_000},
            {"key": OTHER_CACHING_KEY, "name": "caching-other", "response_cache": True},
            {"key": SMALL_BUDGET_KEY, "name": "caching-budget", "response_cache": True, "tpm": 1100},
        ]
        async with running_app(config) as app:
            yield app, sim


async def test_a_deterministic_request_is_served_once_then_from_the_cache(redis_server: RedisServer) -> None:
    async with cached_stack(redis_server.url) as (app, sim):
        first = await app.client.post("/v1/chat/completions", json=chat(), headers=auth(CACHING_KEY))
        second = await app.client.post("/v1/chat/completions", json=chat(), headers=auth(CACHING_KEY))
        assert first.headers["x-cache"] == "miss" and second.headers["x-cache"] == "hit"
        assert sim.requests == 1
        assert second.json() == first.json()
        assert app.metric("pearcare_cache_requests_total", alias="medgemma", result="hit") == 1
        assert app.metric("pearcare_cache_requests_total", alias="medgemma", result="miss") == 1
        # A hit generates nothing: no tokens counted for it (the miss counted 4).
        assert app.metric("pearcare_tokens_total", alias="medgemma", kind="completion") == 4
        # And the up-front charge is given back: the window holds only the miss's tokens.
        await app.app.state.services.settlements.drain()  # settlements run after each response
        third = await app.client.post("/v1/chat/completions", json=chat(seed=3), headers=auth(CACHING_KEY))
        assert third.headers["x-cache"] == "miss"
        left = int(third.headers["x-ratelimit-remaining-tokens"])
        assert left >= 100_000 - 1024 - 200, (
            left
        )  # only this request's estimate and the miss's tokens: a hit keeps nothing


async def test_a_hit_needs_no_token_budget(redis_server: RedisServer) -> None:
    """The first answer uses ~1,010 of the key's 1,100 tokens a minute: the same request again
    could not be admitted live (its estimate is over what is left), but its cached answer is."""
    body = chat(max_tokens=1000, simulate={"tokens": 1000, "itl_ms": 0})
    async with cached_stack(redis_server.url) as (app, sim):
        first = await app.client.post("/v1/chat/completions", json=body, headers=auth(SMALL_BUDGET_KEY))
        await app.app.state.services.settlements.drain()
        again = await app.client.post("/v1/chat/completions", json=body, headers=auth(SMALL_BUDGET_KEY))
        assert again.status_code == 200 and again.headers["x-cache"] == "hit" and again.json() == first.json()
        live = await app.client.post("/v1/chat/completions", json={**body, "seed": 1}, headers=auth(SMALL_BUDGET_KEY))
        assert live.status_code == 429  # not cached: the token limit applies
        assert sim.requests == 1


async def test_a_stream_hit_replays_the_same_events(redis_server: RedisServer) -> None:
    body = chat(stream=True, stream_options={"include_usage": True})
    async with cached_stack(redis_server.url) as (app, sim):
        live = await app.client.post("/v1/chat/completions", json=body, headers=auth(CACHING_KEY))
        replayed = await app.client.post("/v1/chat/completions", json=body, headers=auth(CACHING_KEY))
        assert replayed.headers["x-cache"] == "hit" and replayed.headers["content-type"].startswith("text/event-stream")
        assert replayed.text == live.text and replayed.text.rstrip().endswith("data: [DONE]")
        assert sim.requests == 1
        # The stream and non-stream forms are different entries (different shapes).
        whole = await app.client.post("/v1/chat/completions", json=chat(), headers=auth(CACHING_KEY))
        assert whole.headers["x-cache"] == "miss"


async def test_responses_api_hits_too(redis_server: RedisServer) -> None:
    body = {"model": "medgemma", "input": "hello", "temperature": 0, "stream": True}
    async with cached_stack(redis_server.url) as (app, sim):
        live = await app.client.post("/v1/responses", json=body, headers=auth(CACHING_KEY))
        replayed = await app.client.post("/v1/responses", json=body, headers=auth(CACHING_KEY))
    assert replayed.headers["x-cache"] == "hit" and replayed.text == live.text
    assert sim.requests == 1


async def test_entries_are_never_shared_across_keys(redis_server: RedisServer) -> None:
    async with cached_stack(redis_server.url) as (app, sim):
        await app.client.post("/v1/chat/completions", json=chat(), headers=auth(CACHING_KEY))
        other = await app.client.post("/v1/chat/completions", json=chat(), headers=auth(OTHER_CACHING_KEY))
        assert other.headers["x-cache"] == "miss" and sim.requests == 2


async def test_opt_in_is_needed_from_both_the_key_and_the_request(redis_server: RedisServer) -> None:
    async with cached_stack(redis_server.url) as (app, sim):
        for _ in range(2):  # a key without response_cache, asking for it
            response = await app.client.post("/v1/chat/completions", json=chat(), headers=auth(TEST_KEY))
            assert "x-cache" not in response.headers
        plain = {"authorization": f"Bearer {CACHING_KEY}"}
        for _ in range(2):  # a caching key, not asking
            response = await app.client.post("/v1/chat/completions", json=chat(), headers=plain)
            assert "x-cache" not in response.headers
        assert sim.requests == 4


async def test_only_deterministic_requests_are_cached(redis_server: RedisServer) -> None:
    async with cached_stack(redis_server.url) as (app, sim):
        sampled = chat(temperature=0.7)
        for _ in range(2):
            response = await app.client.post("/v1/chat/completions", json=sampled, headers=auth(CACHING_KEY))
            assert response.headers["x-cache"] == "bypass"
        seeded = chat(temperature=0.7, seed=7)
        await app.client.post("/v1/chat/completions", json=seeded, headers=auth(CACHING_KEY))
        again = await app.client.post("/v1/chat/completions", json=seeded, headers=auth(CACHING_KEY))
        assert again.headers["x-cache"] == "hit"
        assert sim.requests == 3


async def test_failed_and_oversized_answers_are_not_kept(redis_server: RedisServer) -> None:
    async with cached_stack(redis_server.url, max_entry_bytes=2048) as (app, sim):
        failing = chat(simulate={"error_status": 503})
        for _ in range(2):
            await app.client.post("/v1/chat/completions", json=failing, headers=auth(CACHING_KEY))
        big = chat(max_tokens=900, simulate={"tokens": 900, "itl_ms": 0})
        for _ in range(2):
            response = await app.client.post("/v1/chat/completions", json=big, headers=auth(CACHING_KEY))
            assert response.headers["x-cache"] == "miss"
        assert app.metric("pearcare_cache_skipped_total", reason="too_large") == 2
        broken = chat(stream=True, simulate={"break_after": 2})
        for _ in range(2):
            response = await app.client.post("/v1/chat/completions", json=broken, headers=auth(CACHING_KEY))
            assert response.headers["x-cache"] == "miss"
        no_done = chat(stream=True, simulate={"omit_done": True})  # ended cleanly, but not at its protocol's end
        for _ in range(2):
            response = await app.client.post("/v1/chat/completions", json=no_done, headers=auth(CACHING_KEY))
            assert response.headers["x-cache"] == "miss"
        assert sim.requests == 8  # every one went to the backend: none was kept


async def test_a_body_too_deep_to_key_is_served_uncached(redis_server: RedisServer) -> None:
    deep: Any = "x"
    for _ in range(300):
        deep = [deep]
    body = chat(extra_field=deep)
    async with cached_stack(redis_server.url) as (app, _sim):
        response = await app.client.post("/v1/chat/completions", json=body, headers=auth(CACHING_KEY))
    # The body can't be forwarded either (nested deeper than JSON encoders write): a clear 400,
    # not a 500 from the cache.
    assert response.status_code == 400 and response.json()["error"]["param"] == "extra_field"


async def test_a_store_failure_is_a_miss_not_an_error(redis_server: RedisServer) -> None:
    async with cached_stack(redis_server.url) as (app, sim):
        await app.client.post("/v1/chat/completions", json=chat(), headers=auth(CACHING_KEY))
        services = app.app.state.services
        original = services.redis.get

        async def broken(*args: Any, **kwargs: Any) -> Any:
            from redis.exceptions import ConnectionError as RedisConnectionError

            raise RedisConnectionError("down")

        services.redis.get = broken
        try:
            response = await app.client.post("/v1/chat/completions", json=chat(), headers=auth(CACHING_KEY))
        finally:
            services.redis.get = original
        assert response.status_code == 200 and response.headers["x-cache"] == "miss"
        assert json.loads(response.text)["choices"][0]["message"]["content"]
        assert sim.requests == 2


async def test_a_hit_holds_no_in_flight_slot(redis_server: RedisServer) -> None:
    """A key allowed one request at a time: while one of its requests is held at the backend, a
    cached answer is still served (a hit generates nothing and takes no slot)."""
    async with simulator_server(Behaviour(ttft_ms=1, itl_ms=400, tokens=6)) as sim:
        one_at_a_time = "sk-test-caching-single-0123456789ab"
        config = facade_config(
            {"sim": vllm_backend(sim.base_url, "m")},
            {"medgemma": ["sim"]},
            store={"redis_url": redis_server.url, "allow_unauthenticated_store": True},
        )
        config["keys"] += [{"key": one_at_a_time, "name": "single", "response_cache": True, "max_in_flight": 1}]
        async with running_app(config) as app:
            warm = await app.client.post("/v1/chat/completions", json=chat(), headers=auth(one_at_a_time))
            assert warm.headers["x-cache"] == "miss"
            await app.app.state.services.settlements.drain()  # its slot given back
            slow = asyncio.create_task(
                app.client.post("/v1/chat/completions", json=chat(seed=7), headers=auth(one_at_a_time))
            )
            await eventually_async(_requests_of(sim), lambda count: count == 2)  # the slot is taken
            hit = await app.client.post("/v1/chat/completions", json=chat(), headers=auth(one_at_a_time))
            assert hit.status_code == 200 and hit.headers["x-cache"] == "hit"
            refused = await app.client.post("/v1/chat/completions", json=chat(seed=8), headers=auth(one_at_a_time))
            assert refused.status_code == 429  # a miss needs the slot, which is still held
            assert (await slow).status_code == 200


async def test_an_entry_expires_after_its_ttl(redis_server: RedisServer) -> None:
    async with cached_stack(redis_server.url, ttl_seconds=1) as (app, sim):
        first = await app.client.post("/v1/chat/completions", json=chat(), headers=auth(CACHING_KEY))
        assert first.headers["x-cache"] == "miss"
        client = redis.asyncio.Redis.from_url(redis_server.url)
        keys = [key async for key in client.scan_iter(match="*cache*")]
        assert keys and all(0 < ttl <= 1000 for ttl in [await client.pttl(key) for key in keys])  # the store drops it
        await eventually_async(_no_cache_keys(client), timeout=10)
        again = await app.client.post("/v1/chat/completions", json=chat(), headers=auth(CACHING_KEY))
        assert again.headers["x-cache"] == "miss" and sim.requests == 2
        await client.aclose()


def _requests_of(sim: RunningSimulator) -> Any:
    async def probe() -> int:
        return sim.requests

    return probe


def _no_cache_keys(client: Any) -> Any:
    async def probe() -> bool:
        return not [key async for key in client.scan_iter(match="*cache*")]

    return probe


async def test_embeddings_are_never_cached(redis_server: RedisServer) -> None:
    """Only generation is cached: an embeddings request with the header and a seed is served live
    each time, with no x-cache header."""
    async with cached_stack(redis_server.url) as (app, sim):
        body = {"model": "medgemma", "input": "a migraine", "seed": 7}
        for _ in range(2):
            response = await app.client.post("/v1/embeddings", json=body, headers=auth(CACHING_KEY))
            assert "x-cache" not in response.headers
        assert sim.requests == 2
