"""Fallback between an alias's backends, in-process against real HTTP backends (the simulator):
which failures move on, which cool a backend down, and what the client gets when all fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import replace

import orjson
import pytest

from tests.support.inprocess import AUTH, HELLO, QUICK, RunningApp, RunningSimulator, running_app, simulator_server
from tests.support.stack import facade_config, refused_url, vllm_backend

FAILING = replace(QUICK, error_status=503)
THROTTLED = replace(QUICK, error_status=429, retry_after_ms=2500)
REJECTING = replace(QUICK, error_status=400)


class Backends:
    def __init__(self, app: RunningApp, sims: dict[str, RunningSimulator]) -> None:
        self.app = app
        self.sims = sims

    def health(self, name: str) -> str:
        services = self.app.app.state.services
        state: str = services.registry.backends[name].health.state
        return state


async def start(stack: AsyncExitStack, behaviours: dict[str, object]) -> Backends:
    sims = {}
    backends = {}
    for name, behaviour in behaviours.items():
        if behaviour == "refused":
            backends[name] = vllm_backend(refused_url(), "x")
            continue
        sims[name] = await stack.enter_async_context(simulator_server(behaviour))  # type: ignore[arg-type]
        backends[name] = vllm_backend(sims[name].base_url, "sim-model", cooldown_seconds=60)
    config = facade_config(backends, {"medgemma": list(behaviours)})
    return Backends(await stack.enter_async_context(running_app(config)), sims)


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


async def chat(backends: Backends, *, stream: bool) -> tuple[int, bytes, dict[str, str]]:
    body = {"model": "medgemma", "messages": HELLO, "max_tokens": 4, "stream": stream}
    response = await backends.app.client.post("/v1/chat/completions", headers=AUTH, json=body)
    return response.status_code, response.content, dict(response.headers)


async def test_a_stream_falls_back_from_a_failing_backend(stack: AsyncExitStack) -> None:
    backends = await start(stack, {"first": FAILING, "second": QUICK})
    status, body, _ = await chat(backends, stream=True)
    assert status == 200 and body.endswith(b"data: [DONE]\n\n")
    assert body.count(b'"content":" tok"') == 4
    assert (backends.sims["first"].requests, backends.sims["second"].requests) == (1, 1)
    assert backends.app.metric("pearcare_fallbacks_total", alias="medgemma") == 1
    assert backends.health("first") == "down"


async def test_an_unreachable_backend_falls_back_too(stack: AsyncExitStack) -> None:
    backends = await start(stack, {"dead": "refused", "alive": QUICK})
    status, _, _ = await chat(backends, stream=True)
    assert status == 200 and backends.sims["alive"].requests == 1
    assert backends.health("dead") == "down"


async def test_a_backend_in_cooldown_goes_last(stack: AsyncExitStack) -> None:
    backends = await start(stack, {"first": FAILING, "second": QUICK})
    for _ in range(3):
        assert (await chat(backends, stream=False))[0] == 200
    # Tried once, then skipped while it cools down: the healthy one is asked first.
    assert (backends.sims["first"].requests, backends.sims["second"].requests) == (1, 3)
    assert backends.app.metric("pearcare_fallbacks_total", alias="medgemma") == 1


async def test_a_throttled_backend_is_passed_over_without_cooldown(stack: AsyncExitStack) -> None:
    backends = await start(stack, {"throttled": THROTTLED, "spare": QUICK})
    for _ in range(2):
        assert (await chat(backends, stream=False))[0] == 200
    # A 429 says "not now", not "broken": it stays first in line.
    assert (backends.sims["throttled"].requests, backends.sims["spare"].requests) == (2, 2)
    assert backends.health("throttled") != "down"


async def test_a_client_error_is_returned_without_trying_the_next_backend(stack: AsyncExitStack) -> None:
    backends = await start(stack, {"strict": REJECTING, "spare": QUICK})
    status, body, _ = await chat(backends, stream=False)
    assert status == 400
    assert orjson.loads(body)["error"]["message"] == "simulated failure"
    assert backends.sims["spare"].requests == 0
    assert backends.health("strict") != "down"


async def test_when_every_backend_throttles_the_client_gets_429_and_when_to_retry(stack: AsyncExitStack) -> None:
    backends = await start(stack, {"a": THROTTLED, "b": THROTTLED})
    status, body, headers = await chat(backends, stream=False)
    assert status == 429
    error = orjson.loads(body)["error"]
    assert error["type"] == "rate_limit_exceeded"
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("3", "2500")
    assert (backends.sims["a"].requests, backends.sims["b"].requests) == (1, 1)


async def test_when_every_backend_fails_the_client_gets_502_with_retry_after(stack: AsyncExitStack) -> None:
    backends = await start(stack, {"a": FAILING, "b": FAILING})
    status, body, headers = await chat(backends, stream=True)
    assert status == 502 and headers["retry-after"] == "1"
    assert orjson.loads(body)["error"]["code"] == "backend_error"


async def test_every_path_leaves_the_in_flight_gauges_at_zero(stack: AsyncExitStack) -> None:
    backends = await start(stack, {"first": FAILING, "second": QUICK})
    for stream in (False, True):
        await chat(backends, stream=stream)
    for name in ("first", "second"):
        assert backends.app.metric("pearcare_backend_in_flight", backend=name) == 0
        assert backends.app.app.state.services.registry.backends[name].in_flight == 0


LEAKY = "Incorrect API key provided: sk-proj-abc123***wxyz. You can find your API key at ..."


@pytest.mark.parametrize("status", [401, 403])
async def test_a_backend_refusing_our_credentials_is_a_502_and_the_next_backend_serves(
    stack: AsyncExitStack, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    refusing = replace(QUICK, error_status=status, error_message=LEAKY)
    backends = await start(stack, {"misconfigured": refusing, "spare": QUICK})
    assert (await chat(backends, stream=False))[0] == 200
    assert backends.sims["spare"].requests == 1 and backends.health("misconfigured") == "down"
    assert any("refused the façade's credentials" in r.message and r.levelname == "ERROR" for r in caplog.records)

    alone = await start(stack, {"misconfigured": refusing})
    status_code, body, headers = await chat(alone, stream=True)
    error = orjson.loads(body)["error"]
    assert status_code == 502 and error["code"] == "backend_auth_failed" and headers["retry-after"] == "1"
    assert "sk-" not in body.decode() and "API key" not in error["message"]


async def test_a_key_quoted_in_a_backend_error_never_reaches_the_client(stack: AsyncExitStack) -> None:
    backends = await start(stack, {"strict": replace(REJECTING, error_message=f"bad request ({LEAKY})")})
    status, body, _ = await chat(backends, stream=False)
    assert status == 400 and b"sk-proj" not in body and b"sk-***" in body


async def test_a_body_nested_too_deeply_to_forward_is_a_400_with_its_field(stack: AsyncExitStack) -> None:
    backends = await start(stack, {"only": QUICK})
    nested: object = "x"
    for _ in range(300):
        nested = {"n": nested}
    body = {"model": "medgemma", "messages": HELLO, "max_tokens": 1, "metadata_blob": nested}
    response = await backends.app.client.post("/v1/chat/completions", headers=AUTH, json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "metadata_blob"
    assert backends.sims["only"].requests == 0
    assert backends.app.metric("pearcare_backend_in_flight", backend="only") == 0
    assert backends.app.app.state.services.registry.backends["only"].in_flight == 0
