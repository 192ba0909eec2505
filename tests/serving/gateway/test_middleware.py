"""The request middleware: request ids in and out, one access-log line per request with
metadata only, and the request metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from tests.support.inprocess import AUTH, RunningApp, RunningSimulator, access_log_lines, facade_with_simulator

CANARY = "Jane-Canary-Doe-MRN-4417"


@pytest.fixture
async def facade() -> AsyncIterator[tuple[RunningApp, RunningSimulator]]:
    async with facade_with_simulator() as running:
        yield running


@pytest.mark.parametrize("unsafe", ["has space", "x" * 129, "new\\nline", "semi;colon", ""])
async def test_an_unsafe_request_id_is_replaced(facade: tuple[RunningApp, RunningSimulator], unsafe: str) -> None:
    app, _ = facade
    response = await app.client.get("/health", headers={"x-request-id": unsafe})
    generated = response.headers["x-request-id"]
    assert generated != unsafe and len(generated) == 32 and int(generated, 16) >= 0


async def test_a_safe_request_id_travels_to_the_backend_and_back(facade: tuple[RunningApp, RunningSimulator]) -> None:
    app, sim = facade
    body = {"model": "medgemma", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    response = await app.client.post(
        "/v1/chat/completions", headers={**AUTH, "x-request-id": "trace-1.a:b_c"}, json=body
    )
    assert response.headers["x-request-id"] == "trace-1.a:b_c"
    assert sim.simulator.last_headers["x-request-id"] == "trace-1.a:b_c"


async def test_one_access_line_with_metadata_and_no_text(
    facade: tuple[RunningApp, RunningSimulator], caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = facade
    caplog.set_level(logging.INFO)
    body = {"model": "medgemma", "messages": [{"role": "user", "content": CANARY}], "max_tokens": 2, "stream": True}
    response = await app.client.post("/v1/chat/completions", headers={**AUTH, "x-request-id": "req-1"}, json=body)
    assert response.status_code == 200
    (line,) = access_log_lines(caplog)
    fields = line.__dict__
    assert (fields["route"], fields["status"], fields["alias"], fields["backend"]) == (
        "/v1/chat/completions",
        200,
        "medgemma",
        "sim",
    )
    assert (fields["key"], fields["completion_tokens"], fields["outcome"]) == ("test", 2, "ok")
    assert fields["ttft_ms"] > 0 and response.headers["x-request-id"] == "req-1"
    assert CANARY not in caplog.text
    assert CANARY not in (await app.client.get("/metrics")).text


async def test_request_metrics_by_route_alias_and_status_class(facade: tuple[RunningApp, RunningSimulator]) -> None:
    app, _ = facade
    await app.client.get("/v1/models", headers=AUTH)
    await app.client.get("/v1/models")
    await app.client.get("/nowhere")
    assert app.metric("pearcare_requests_total", route="/v1/models", alias="none", status_class="2xx") == 1
    assert app.metric("pearcare_requests_total", route="/v1/models", alias="none", status_class="4xx") == 1
    assert app.metric("pearcare_requests_total", route="unmatched", alias="none", status_class="4xx") == 1
    assert app.metric("pearcare_auth_failures_total") == 1  # the missing key
