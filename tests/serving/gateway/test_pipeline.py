"""A generation request end to end in-process: the up-front charge (n x max_tokens), and streams
that break the protocol's happy path (a backend that stalls, one that ends without [DONE])."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import orjson
import pytest

from serving.gateway.apis import CHAT, COMPLETIONS, EMBEDDINGS, RESPONSES
from serving.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, ResponsesRequest
from tests.support.inprocess import (
    AUTH,
    HELLO,
    QUICK,
    RunningApp,
    RunningSimulator,
    access_log_lines,
    facade_with_simulator,
)
from tests.support.wait import eventually_async

METERED_KEY = "sk-test-metered-0123456789abcdefgh"
TPM = 100_000
METERED = {"authorization": f"Bearer {METERED_KEY}"}


@pytest.fixture
async def facade() -> AsyncIterator[tuple[RunningApp, RunningSimulator]]:
    metered = {"key": METERED_KEY, "name": "metered", "tpm": TPM}
    quick_timeouts = {"connect": 1, "read": 0.5}
    async with facade_with_simulator(
        replace(QUICK, tokens=8), extra_keys=(metered,), timeouts=quick_timeouts
    ) as running:
        yield running


def test_token_allowance_counts_every_choice() -> None:
    chat = ChatCompletionRequest.model_validate({"model": "m", "messages": HELLO, "max_tokens": 10, "n": 3})
    assert CHAT.allowance(chat, default=1024) == 30
    newer = ChatCompletionRequest.model_validate({"model": "m", "messages": HELLO, "max_completion_tokens": 7})
    assert CHAT.allowance(newer, default=1024) == 7
    assert COMPLETIONS.allowance(CompletionRequest.model_validate({"model": "m", "prompt": "x"}), default=50) == 50
    two = CompletionRequest.model_validate({"model": "m", "prompt": ["x", "y"], "max_tokens": 5, "best_of": 3})
    assert COMPLETIONS.allowance(two, default=50) == 30  # best_of sequences of each prompt
    assert EMBEDDINGS.allowance(EmbeddingRequest.model_validate({"model": "m", "input": "x"}), default=50) == 0
    responses = ResponsesRequest.model_validate({"model": "m", "input": "x"})
    assert RESPONSES.allowance(responses, default=50) == 50


def test_the_cap_that_was_charged_is_sent_when_the_client_named_none() -> None:
    chat = ChatCompletionRequest.model_validate({"model": "m", "messages": HELLO})
    assert CHAT.capped(chat, {"model": "m"}, 64) == {"model": "m", "max_tokens": 64}
    named = ChatCompletionRequest.model_validate({"model": "m", "messages": HELLO, "max_completion_tokens": 7})
    assert CHAT.capped(named, {"max_completion_tokens": 7}, 64) == {"max_completion_tokens": 7}
    responses = ResponsesRequest.model_validate({"model": "m", "input": "x"})
    assert RESPONSES.capped(responses, {}, 64) == {"max_output_tokens": 64}
    embeddings = EmbeddingRequest.model_validate({"model": "m", "input": "x"})
    assert EMBEDDINGS.capped(embeddings, {"input": "x"}, 64) == {"input": "x"}


async def test_n_choices_are_charged_up_front(facade: tuple[RunningApp, RunningSimulator]) -> None:
    app, _ = facade
    body = orjson.dumps({"model": "medgemma", "messages": HELLO, "max_tokens": 10, "n": 3})
    response = await app.client.post("/v1/chat/completions", headers=METERED, content=body)
    assert response.status_code == 200
    assert int(response.headers["x-ratelimit-remaining-tokens"]) == TPM - (len(body) // 4 + 3 * 10)


async def usage_rows(app: RunningApp) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await app.client.get("/v1/usage", headers=AUTH)).json()["data"]
    return rows


async def test_a_stream_longer_than_the_read_timeout_is_not_cut_while_its_events_keep_coming(
    facade: tuple[RunningApp, RunningSimulator],
) -> None:
    """The read timeout (0.5 s here) bounds the silence between events, not the stream: the
    relay's watchdog re-arms from the last read."""
    app, _ = facade
    simulate = {"ttft_ms": 0, "itl_ms": 200, "tokens": 6}  # 1 s of events, 0.2 s apart
    body = {"model": "medgemma", "messages": HELLO, "stream": True, "simulate": simulate}
    response = await app.client.post("/v1/chat/completions", headers=AUTH, json=body)
    events = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and not any('"error"' in event for event in events)
    assert sum('"content":" tok"' in event for event in events) == 6


async def test_a_backend_that_stalls_mid_stream_ends_it_with_an_error_event(
    facade: tuple[RunningApp, RunningSimulator],
) -> None:
    app, _ = facade
    body = {"model": "medgemma", "messages": HELLO, "stream": True, "simulate": {"stall_after": 3}}
    response = await app.client.post("/v1/chat/completions", headers=AUTH, json=body)
    events = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert orjson.loads(events[-2])["error"]["code"] == "backend_timeout"
    assert sum('"content":" tok"' in event for event in events) == 3
    rows = await eventually_async(lambda: usage_rows(app), lambda rows: bool(rows))
    assert (rows[0]["requests"], rows[0]["errors"], rows[0]["completion_tokens"]) == (1, 1, 3)
    assert rows[0]["prompt_tokens"] > 0  # no usage chunk came: the estimate is charged
    assert app.metric("pearcare_backend_in_flight", backend="sim") == 0


async def test_a_stream_that_ends_without_done_is_relayed_as_it_came(
    facade: tuple[RunningApp, RunningSimulator],
) -> None:
    app, _ = facade
    body = {"model": "medgemma", "messages": HELLO, "stream": True, "simulate": {"omit_done": True}}
    response = await app.client.post("/v1/chat/completions", headers=AUTH, json=body)
    assert response.status_code == 200
    assert "[DONE]" not in response.text and '"error"' not in response.text
    assert response.text.count('"content":" tok"') == 8
    rows = await eventually_async(lambda: usage_rows(app), lambda rows: bool(rows))
    # The usage chunk still came (the façade always asks for it): real tokens, not failed.
    assert (rows[0]["requests"], rows[0]["errors"], rows[0]["completion_tokens"]) == (1, 0, 8)


async def test_every_prompt_and_choice_of_a_completion_is_charged(facade: tuple[RunningApp, RunningSimulator]) -> None:
    app, _ = facade
    body = orjson.dumps({"model": "medgemma", "prompt": ["a", "b", "c"], "max_tokens": 10, "n": 2})
    response = await app.client.post("/v1/completions", headers=METERED, content=body)
    assert response.status_code == 200
    assert int(response.headers["x-ratelimit-remaining-tokens"]) == TPM - (len(body) // 4 + 3 * 2 * 10)


async def test_a_request_without_a_cap_is_sent_the_cap_it_was_charged(
    facade: tuple[RunningApp, RunningSimulator],
) -> None:
    app, sim = facade
    body = orjson.dumps({"model": "medgemma", "messages": HELLO})
    response = await app.client.post("/v1/chat/completions", headers=METERED, content=body)
    assert response.status_code == 200
    assert int(response.headers["x-ratelimit-remaining-tokens"]) == TPM - (len(body) // 4 + 1024)
    assert sim.simulator.last_body is not None and sim.simulator.last_body["max_tokens"] == 1024


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
async def test_an_absurd_cap_is_a_400_not_a_store_outage(
    facade: tuple[RunningApp, RunningSimulator], field: str
) -> None:
    app, sim = facade
    body = {"model": "medgemma", "messages": HELLO, field: 10**19}
    response = await app.client.post("/v1/chat/completions", headers=METERED, json=body)
    assert response.status_code == 400 and response.json()["error"]["param"] == field
    assert sim.requests == 0


async def test_a_request_cancelled_by_a_hang_up_keeps_its_data_policy_on_the_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The redacted prompt left for the backend before the client hung up: the record (access
    log, audit) says `redact` and what was found, as it did when the guard wrote it directly."""
    async with facade_with_simulator(replace(QUICK, hang_ms=3000), data_policy="redact") as (app, _):
        body = orjson.dumps({"model": "medgemma", "messages": [{"role": "user", "content": "Patient John Smith."}]})
        sent: list[dict[str, Any]] = []
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(0.5)  # the backend is still thinking
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/chat/completions",
            "raw_path": b"/v1/chat/completions",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"authorization", AUTH["authorization"].encode()), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 1),
            "server": ("facade.test", 80),
        }
        with caplog.at_level(logging.INFO, logger="serving.access_log"):
            await app.app(scope, receive, send)  # type: ignore[arg-type]
        assert sent[0]["status"] == 499
        [line] = access_log_lines(caplog)
        assert (line.outcome, line.data_policy, line.phi) == ("client_disconnected", "redact", {"NAME": 1})  # type: ignore[attr-defined]
