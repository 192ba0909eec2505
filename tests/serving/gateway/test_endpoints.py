"""The generation endpoints served by the gateway before FastAPI's routing: what FastAPI did
for them (405, 413, OpenAI-shaped errors for any body) they do, and a body of any JSON shape
gets a 4xx, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.inprocess import AUTH, HELLO, RunningApp, RunningSimulator, facade_with_simulator


@pytest.fixture
async def facade() -> AsyncIterator[tuple[RunningApp, RunningSimulator]]:
    async with facade_with_simulator() as running:
        yield running


@pytest.mark.parametrize("model", [{}, [], 7, None, ["consultation"]])
async def test_a_model_of_any_json_type_is_a_400(facade: tuple[RunningApp, RunningSimulator], model: object) -> None:
    app, _ = facade
    response = await app.client.post("/v1/chat/completions", headers=AUTH, json={"model": model, "messages": HELLO})
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


async def test_other_methods_are_405_with_allow(facade: tuple[RunningApp, RunningSimulator]) -> None:
    app, _ = facade
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings"):
        response = await app.client.get(path, headers=AUTH)
        assert response.status_code == 405 and response.headers["allow"] == "POST"
        assert response.json()["error"]["message"] == "Method Not Allowed"


async def test_a_body_over_the_limit_is_413_whether_declared_or_streamed(
    facade: tuple[RunningApp, RunningSimulator],
) -> None:
    app, _ = facade
    big = b'{"model": "medgemma", "messages": [], "pad": "' + b"x" * 70_000 + b'"}'
    declared = await app.client.post("/v1/chat/completions", headers=AUTH, content=big)
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked, counted as read
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = await app.client.post("/v1/chat/completions", headers=AUTH, content=chunks())
    assert streamed.status_code == 413
    assert "limit" in streamed.json()["error"]["message"]


async def test_a_missing_key_is_401_before_the_body_and_counted(facade: tuple[RunningApp, RunningSimulator]) -> None:
    app, _ = facade
    before = app.metric("pearcare_auth_failures_total")
    response = await app.client.post("/v1/chat/completions", content=b"not even json")
    assert response.status_code == 401
    assert app.metric("pearcare_auth_failures_total") == before + 1


async def test_a_trailing_slash_is_the_same_endpoint(facade: tuple[RunningApp, RunningSimulator]) -> None:
    app, _ = facade
    response = await app.client.post(
        "/v1/chat/completions/", headers=AUTH, json={"model": "medgemma", "messages": HELLO}
    )
    assert response.status_code == 200 and response.json()["object"] == "chat.completion"
