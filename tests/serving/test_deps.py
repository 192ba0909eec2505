"""What routes get from serving/deps.py: the key checked before the body is read, and the body
read once within its size limit, whichever way it is framed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from tests.support.inprocess import AUTH, HELLO, RunningApp, RunningSimulator, facade_with_simulator

LIMIT = 65536  # facade_config's server.max_request_bytes


@pytest.fixture
async def facade() -> AsyncIterator[tuple[RunningApp, RunningSimulator]]:
    async with facade_with_simulator() as running:
        yield running


async def chunks(total: int, *, seen: list[int] | None = None) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = b" " * min(8192, total - sent)
        sent += len(piece)
        if seen is not None:
            seen.append(len(piece))
        yield piece


async def test_a_chunked_body_over_the_limit_gets_413(facade: tuple[RunningApp, RunningSimulator]) -> None:
    app, sim = facade
    response = await app.client.post("/v1/chat/completions", headers=AUTH, content=chunks(LIMIT + 10_000))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert sim.requests == 0


async def test_a_chunked_body_within_the_limit_is_served(facade: tuple[RunningApp, RunningSimulator]) -> None:
    app, _ = facade
    body = orjson.dumps({"model": "medgemma", "messages": HELLO, "max_tokens": 2})

    async def framed() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    response = await app.client.post("/v1/chat/completions", headers=AUTH, content=framed())
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == " tok tok"


@pytest.mark.parametrize(("declared", "status"), [("abc", 400), ("-1", 400), (str(LIMIT + 1), 413)])
async def test_a_bad_or_oversized_content_length(
    facade: tuple[RunningApp, RunningSimulator], declared: str, status: int
) -> None:
    app, _ = facade
    headers = {**AUTH, "content-length": declared, "content-type": "application/json"}
    response = await app.client.post("/v1/chat/completions", headers=headers, content=b"{}")
    assert response.status_code == status
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


async def test_no_key_is_refused_before_the_body_is_read(facade: tuple[RunningApp, RunningSimulator]) -> None:
    app, _ = facade
    seen: list[int] = []
    response = await app.client.post("/v1/chat/completions", content=chunks(LIMIT * 4, seen=seen))
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.status_code == 401  # not 413: the oversized body was never read
    assert sum(seen) <= 8192, seen  # at most the first chunk left the client


async def test_an_unknown_key_is_refused_before_its_body_is_read(facade: tuple[RunningApp, RunningSimulator]) -> None:
    app, sim = facade
    seen: list[int] = []
    junk = {"authorization": "Bearer sk-junk-0123456789abcdefghijkl"}
    response = await app.client.post("/v1/chat/completions", headers=junk, content=chunks(LIMIT * 4, seen=seen))
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    assert sum(seen) <= 8192, seen
    assert sim.requests == 0


async def test_a_known_key_costs_one_store_round_trip_per_request(facade: tuple[RunningApp, RunningSimulator]) -> None:
    app, _ = facade
    body = {"model": "medgemma", "messages": HELLO, "max_tokens": 1}

    def round_trips() -> float:
        return app.metric("pearcare_store_round_trip_seconds_count")

    await app.client.post("/v1/chat/completions", headers=AUTH, json=body)
    assert round_trips() == 2  # the first time: the look-up before the body, then admission
    for _ in range(3):
        assert (await app.client.post("/v1/chat/completions", headers=AUTH, json=body)).status_code == 200
    assert round_trips() == 2 + 3
