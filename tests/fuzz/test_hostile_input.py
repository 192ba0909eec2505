"""A table of hostile inputs: each gets a clear 4xx in OpenAI's envelope (never a 5xx or a stack
trace), nothing reaches the backend that should not, and every in-flight gauge ends at zero."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from tests.support.inprocess import AUTH, HELLO, RunningApp, RunningSimulator, facade_with_simulator

LIMIT = 65536  # facade_config's server.max_request_bytes


def nested(depth: int) -> bytes:
    """A body whose field `extra` nests objects `depth` deep (built as text: encoders refuse it)."""
    return body()[:-1] + b',"extra":' + b'{"n":' * depth + b'"x"' + b"}" * depth + b"}"


def body(**fields: object) -> bytes:
    return orjson.dumps({"model": "medgemma", "messages": HELLO, "max_tokens": 2, **fields})


HOSTILE: list[tuple[str, bytes, int, str | None]] = [
    # (case, raw body, status, param)
    ("deep nesting in an extra field", nested(300), 400, "extra"),
    ("deeper than JSON parsing allows", nested(2000), 400, None),
    ("10^19 max_tokens", body(max_tokens=10**19), 400, "max_tokens"),
    ("negative max_tokens", body(max_tokens=-1), 400, "max_tokens"),
    ("zero max_tokens", body(max_tokens=0), 400, "max_tokens"),
    ("n of 1000", body(n=1000), 400, "n"),
    ("a float for n", body(n=1.5), 400, "n"),
    ("temperature as text", body(temperature="hot"), 400, "temperature"),
    ("stream as a list", body(stream=[True]), 400, "stream"),
    ("messages as an object", orjson.dumps({"model": "medgemma", "messages": {"role": "user"}}), 400, "messages"),
    (
        "a message without a role",
        orjson.dumps({"model": "medgemma", "messages": [{"content": "x"}]}),
        400,
        "messages[0].role",
    ),
    (
        "content as a number",
        orjson.dumps({"model": "medgemma", "messages": [{"role": "user", "content": 5}]}),
        400,
        "messages[0].content",  # pydantic's union member tag (`.str`) left out
    ),
    ("model as a number", orjson.dumps({"model": 5, "messages": HELLO}), 400, "model"),
    ("no model", orjson.dumps({"messages": HELLO}), 400, "model"),
    ("empty messages", orjson.dumps({"model": "medgemma", "messages": []}), 400, "messages"),
    ("stream_options as text", body(stream=True, stream_options="yes"), 400, "stream_options"),
    (
        "malformed tool_calls",
        orjson.dumps(
            {
                "model": "medgemma",
                "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [7]}],
            }
        ),
        400,
        "messages[1].tool_calls[0]",
    ),
    ("invalid UTF-8", b'{"model": "medgemma", "messages": [{"role": "user", "content": "\xff\xfe"}]}', 400, None),
    ("not JSON", b"model=medgemma", 400, None),
    ("a JSON array", b"[1, 2, 3]", 400, None),
    ("truncated JSON", body()[:-5], 400, None),
    ("a 1 MB string", body(extra="x" * (1 << 20)), 413, None),
    ("10,000 messages", orjson.dumps({"model": "medgemma", "messages": HELLO * 10_000}), 413, None),
]

ACCEPTED: list[tuple[str, bytes]] = [
    (
        "NUL bytes in content",
        orjson.dumps({"model": "medgemma", "messages": [{"role": "user", "content": "a\x00b"}], "max_tokens": 2}),
    ),
    (
        "duplicate keys (the last one wins, as in every JSON parser we forward to)",
        b'{"model": "nothing", "model": "medgemma", "messages": [{"role": "user", "content": "x"}], "max_tokens": 2}',
    ),
    (
        "1,000 messages within the size limit",
        orjson.dumps({"model": "medgemma", "messages": HELLO * 1000, "max_tokens": 2}),
    ),
]


@pytest.fixture
async def facade() -> AsyncIterator[tuple[RunningApp, RunningSimulator]]:
    async with facade_with_simulator() as running:
        yield running


@pytest.mark.parametrize(("case", "raw", "status", "param"), HOSTILE, ids=[case for case, *_ in HOSTILE])
async def test_hostile_input_gets_a_clear_error(
    facade: tuple[RunningApp, RunningSimulator], case: str, raw: bytes, status: int, param: str | None
) -> None:
    app, sim = facade
    headers = {**AUTH, "content-type": "application/json"}
    response = await app.client.post("/v1/chat/completions", headers=headers, content=raw)
    assert response.status_code == status, response.text[:500]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param
    assert "Traceback" not in response.text
    assert sim.requests == 0
    assert app.metric("pearcare_backend_in_flight", backend="sim") == 0


@pytest.mark.parametrize(("case", "raw"), ACCEPTED, ids=[case for case, _ in ACCEPTED])
async def test_odd_but_valid_input_is_served(
    facade: tuple[RunningApp, RunningSimulator], case: str, raw: bytes
) -> None:
    app, sim = facade
    headers = {**AUTH, "content-type": "application/json"}
    response = await app.client.post("/v1/chat/completions", headers=headers, content=raw)
    assert response.status_code == 200, response.text[:500]
    assert sim.requests == 1
    assert app.metric("pearcare_backend_in_flight", backend="sim") == 0
