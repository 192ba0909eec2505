"""Admission overlapped with the upstream request (self-hosted backends, streams): the request
leaves for vLLM before the store has answered, and a refusal cancels it. What must hold, in
process against a real Redis and the simulator: no byte of a refused request reaches the
client, a refused request records no usage, and the upstream work is cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis.asyncio

from loadtests.devstack.redis_server import RedisServer
from loadtests.simulator import Behaviour
from serving.access.keys import hash_key
from serving.store.connection import key_for
from tests.support.inprocess import RunningApp, RunningSimulator, running_app, simulator_server
from tests.support.stack import TEST_KEY, facade_config, vllm_backend
from tests.support.wait import eventually_async

ADMIN = "sk-admin-overlap-0123456789abcdef"
ONE_A_MINUTE = "sk-test-one-a-minute-0123456789ab"
FEW_TOKENS = "sk-test-few-tokens-0123456789abcd"
SLOW_FIRST_TOKEN = Behaviour(ttft_ms=300, itl_ms=1, tokens=4)
STREAM = {"model": "medgemma", "messages": [{"role": "user", "content": "hello"}], "stream": True}


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@asynccontextmanager
async def stack(redis_url: str, **store: Any) -> AsyncIterator[tuple[RunningApp, RunningSimulator]]:
    async with simulator_server(SLOW_FIRST_TOKEN) as sim:
        config = facade_config(
            {"sim": vllm_backend(sim.base_url, "m")},
            {"medgemma": ["sim"]},
            store={"redis_url": redis_url, "admin_key": ADMIN, "default_max_tokens": 100, **store},
        )
        config["keys"] += [
            {"key": ONE_A_MINUTE, "name": "one-a-minute", "rpm": 1},
            {"key": FEW_TOKENS, "name": "few-tokens", "tpm": 50},
        ]
        async with running_app(config) as app:
            slow_admission(app)
            yield app, sim


def slow_admission(app: RunningApp, seconds: float = 0.15) -> None:
    """A store this slow to answer: the early request has reached the backend by the time
    admission refuses, so what follows a refusal is what is tested, whatever the timing."""
    admission = app.app.state.services.admission
    admit = admission.admit

    async def slowly(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(seconds)
        return await admit(*args, **kwargs)

    admission.admit = slowly


async def cancelled_to(sim: RunningSimulator, reached: Any) -> None:
    async def probe() -> bool:
        return bool(reached())

    await eventually_async(probe)


def refused_cleanly(response: Any, status: int) -> None:
    """A JSON error: not one byte of the stream (no `data:` line, no SSE content type)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "data:" not in response.text and set(response.json()["error"]) >= {"message", "type", "code"}


async def usage_of(app: RunningApp, key_id: str) -> tuple[int, int]:
    """(requests, tokens) recorded for a key, once every settlement has run."""
    await app.app.state.services.settlements.drain()
    response = await app.client.get("/admin/usage", headers=auth(ADMIN))
    rows = [row for row in response.json()["data"] if row["key_id"] == key_id]
    return sum(r["requests"] for r in rows), sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)


async def test_an_admitted_stream_is_served(redis_server: RedisServer) -> None:
    async with stack(redis_server.url) as (app, sim):
        response = await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(TEST_KEY))
    assert response.status_code == 200 and response.text.rstrip().endswith("data: [DONE]")
    assert sim.requests == 1 and sim.simulator.cancelled == 0


async def test_a_key_revoked_elsewhere_gets_its_401_and_the_upstream_request_is_cancelled(
    redis_server: RedisServer,
) -> None:
    """Revoked through another instance: this one still remembers the key as verified (so its
    body is read and the request leaves early); admission, in the store, refuses it."""
    async with stack(redis_server.url) as (app, sim):
        created = (await app.client.post("/admin/keys", json={"name": "soon-revoked"}, headers=auth(ADMIN))).json()
        first = await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(created["key"]))
        assert first.status_code == 200  # the key is now known to this instance (it skips the look-up)
        record = key_for(hash_key(created["key"]), "key")
        await redis.asyncio.Redis.from_url(redis_server.url).hset(record, "disabled", "1")  # "another instance"
        response = await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(created["key"]))
        refused_cleanly(response, 401)
        assert sim.requests == 2  # it had left for the backend...
        await cancelled_to(sim, lambda: sim.simulator.cancelled == 1)  # ...and was called back
        requests, _ = await usage_of(app, created["id"])
        assert requests == 1  # the first; the refused one left no usage
        assert app.metric("pearcare_client_disconnects_total", alias="medgemma") == 0


@pytest.mark.parametrize(
    ("key", "name", "first_status"), [(ONE_A_MINUTE, "one-a-minute", 200), (FEW_TOKENS, "few-tokens", 429)]
)
async def test_exhausted_limits_refuse_with_no_usage(
    redis_server: RedisServer, key: str, name: str, first_status: int
) -> None:
    async with stack(redis_server.url) as (app, sim):
        first = await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(key))
        assert first.status_code == first_status
        counted = await usage_of(app, f"static-{name}")
        second = await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(key))
        refused_cleanly(second, 429)
        # The first refusal had left early and was called back; once refused, the key's next
        # requests wait for admission (a key at its limit must not keep the GPU busy).
        await cancelled_to(sim, lambda: sim.simulator.cancelled == 1)
        sent = sim.requests
        third = await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(key))
        refused_cleanly(third, 429)
        assert sim.requests == sent
        assert await usage_of(app, f"static-{name}") == counted  # the refusals added nothing
        # Only an admitted stream counts: one request, its prompt and 4 tokens.
        assert counted[0] == (1 if first_status == 200 else 0) and (counted[1] > 4) == (first_status == 200)


async def test_a_model_the_key_may_not_use_never_leaves_early(redis_server: RedisServer) -> None:
    async with stack(redis_server.url) as (app, sim):
        created = await app.client.post(
            "/admin/keys", json={"name": "other-model", "models": ["gpt-5"]}, headers=auth(ADMIN)
        )
        key = created.json()["key"]
        assert (await app.client.get("/v1/models", headers=auth(key))).status_code == 200  # now verified here
        response = await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(key))
        assert response.status_code == 404 and sim.requests == 0


async def test_store_down_closed_refuses_and_cancels(redis_server: RedisServer) -> None:
    async with stack(redis_server.url, failure_policy="closed") as (app, sim):
        assert (await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(TEST_KEY))).status_code == 200
        redis_server.stop()
        response = await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(TEST_KEY))
        refused_cleanly(response, 503)
        await cancelled_to(sim, lambda: sim.simulator.cancelled == 1)


async def test_store_down_open_serves_a_known_key_only(redis_server: RedisServer) -> None:
    async with stack(redis_server.url, failure_policy="open") as (app, sim):
        assert (await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(TEST_KEY))).status_code == 200
        redis_server.stop()
        served = await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(TEST_KEY))
        assert served.status_code == 200 and served.text.rstrip().endswith("data: [DONE]")
        unknown = await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(ONE_A_MINUTE))
        refused_cleanly(unknown, 503)  # a key never verified is refused before its body is read
        assert sim.requests == 2 and sim.simulator.cancelled == 0


async def revoked_elsewhere(app: RunningApp, redis_url: str) -> tuple[str, Any]:
    """A key this instance has seen accepted, then disabled by "another instance": the case in
    which a request would leave early and be refused."""
    created = (await app.client.post("/admin/keys", json={"name": "soon-revoked"}, headers=auth(ADMIN))).json()
    first = await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(created["key"]))
    assert first.status_code == 200
    await redis.asyncio.Redis.from_url(redis_url).hset(key_for(hash_key(created["key"]), "key"), "disabled", "1")
    return created["id"], await app.client.post("/v1/chat/completions", json=STREAM, headers=auth(created["key"]))


async def test_overlap_admission_off_sends_nothing_before_admission(redis_server: RedisServer) -> None:
    async with stack(redis_server.url, overlap_admission=False) as (app, sim):
        _, response = await revoked_elsewhere(app, redis_server.url)
        refused_cleanly(response, 401)
        assert sim.requests == 1 and sim.simulator.cancelled == 0  # the refused one never left


async def test_a_third_party_backend_is_never_called_before_admission(redis_server: RedisServer) -> None:
    async with simulator_server(SLOW_FIRST_TOKEN) as sim:
        gpt = {"kind": "openai", "base_url": sim.base_url, "model": "gpt-5", "api_key": "sk-provider-0123456789"}
        config = facade_config(
            {"gpt": gpt}, {"medgemma": ["gpt"]}, store={"redis_url": redis_server.url, "admin_key": ADMIN}
        )
        async with running_app(config) as app:
            slow_admission(app)
            _, response = await revoked_elsewhere(app, redis_server.url)
            refused_cleanly(response, 401)
            assert sim.requests == 1 and sim.simulator.cancelled == 0


async def test_a_refused_early_request_is_audited_with_its_backend_and_counted_refused(
    redis_server: RedisServer,
) -> None:
    async with stack(redis_server.url) as (app, sim):
        _, response = await revoked_elsewhere(app, redis_server.url)
        refused_cleanly(response, 401)
        await cancelled_to(sim, lambda: sim.simulator.cancelled == 1)
        assert app.metric("pearcare_backend_requests_total", backend="sim", outcome="refused") == 1
        await app.app.state.services.audit.flush()
        records = (await app.client.get("/admin/audit", headers=auth(ADMIN))).json()
        refused = [r for r in records["data"] if r.get("status") == 401 and r.get("route") == "/v1/chat/completions"]
        assert len(refused) == 1 and refused[0].get("backend") == "sim", records["data"]
