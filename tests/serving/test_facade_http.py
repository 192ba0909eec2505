"""The façade as a real process, driven by the official openai client, in front of upstream
simulators (they stand in for GPT-5 and for faults a real vLLM cannot be made to show)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from loadtests.measure import histogram_totals
from tests.support.stack import (
    LIMITED_KEY,
    TEST_KEY,
    Facade,
    Simulator,
    facade,
    facade_config,
    refused_url,
    simulator,
    vllm_backend,
)
from tests.support.wait import eventually


class Stack:
    def __init__(self, facade: Facade, sim: Simulator, failing: Simulator) -> None:
        self.facade = facade
        self.sim = sim
        self.failing = failing

    def client(self, key: str = TEST_KEY, **kwargs: object) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.facade.base_url, api_key=key, max_retries=0, **kwargs)  # type: ignore[arg-type]

    def sim_stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.sim.port}/stats") as response:
            return json.loads(response.read())

    def metrics(self) -> str:
        return httpx.get(self.facade.root_url + "/metrics").text


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("facade")
    with (
        simulator(tmp, "--ttft-ms", "20", "--itl-ms", "20", "--tokens", "8") as sim,
        simulator(tmp, "--error-status", "503") as failing,
        simulator(tmp, "--hang-ms", "3000") as hanging,
    ):
        dead = refused_url()
        config = facade_config(
            backends={
                "sim": vllm_backend(sim.base_url, "sim-model", message_format="gemma3"),
                "sim-openai": {
                    "kind": "openai",
                    "base_url": sim.base_url,
                    "model": "gpt-5",
                    "api_key": "sk-upstream-secret",
                    "rename_params": {"max_tokens": "max_completion_tokens"},
                    "drop_params": ["temperature", "top_p"],
                },
                "dead": vllm_backend(dead, "x", timeouts={"connect": 1, "read": 5}),
                "failing": vllm_backend(failing.base_url, "x"),
                "slow": vllm_backend(sim.base_url, "sim-model", timeouts={"connect": 1, "read": 0.5}),
                "hanging": vllm_backend(hanging.base_url, "x", timeouts={"connect": 1, "read": 0.5}),
            },
            models={
                "medgemma": ["sim"],
                "gpt-5": ["sim-openai"],
                "only-this": ["sim"],
                "fallback-dead": ["dead", "sim"],
                "fallback-5xx": ["failing", "sim"],
                "fallback-timeout": ["hanging", "sim"],
                "all-down": ["dead"],
                "all-failing": ["failing"],
                "slow": ["slow"],
            },
        )
        with facade(tmp, config) as running:
            yield Stack(running, sim, failing)


HELLO = [{"role": "user", "content": "Hello"}]


def test_chat_completion_round_trip(stack: Stack) -> None:
    completion = stack.client().chat.completions.create(model="medgemma", messages=HELLO, max_tokens=5)
    assert completion.choices[0].message.content == " tok" * 5
    assert completion.usage is not None and completion.usage.completion_tokens == 5
    assert stack.sim_stats()["last_body"]["model"] == "sim-model"


def test_streaming_is_incremental_and_usage_only_when_asked(stack: Stack) -> None:
    client = stack.client()
    arrivals, chunks = [], []
    for chunk in client.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=8, stream=True):
        arrivals.append(time.perf_counter())
        chunks.append(chunk)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == " tok" * 8
    assert all(c.usage is None and c.choices for c in chunks), "usage chunk leaked to a client that did not ask"
    # 8 tokens 20 ms apart: relayed as they come, not buffered to the end.
    assert arrivals[-1] - arrivals[1] > 0.1
    # The upstream was asked for usage anyway, so tokens are counted.
    assert stack.sim_stats()["last_body"]["stream_options"] == {"include_usage": True}

    with_usage = list(
        client.chat.completions.create(
            model="medgemma", messages=HELLO, max_tokens=4, stream=True, stream_options={"include_usage": True}
        )
    )
    assert with_usage[-1].choices == [] and with_usage[-1].usage is not None
    assert with_usage[-1].usage.completion_tokens == 4


def test_completions_streaming_and_not(stack: Stack) -> None:
    client = stack.client()
    completion = client.completions.create(model="medgemma", prompt="Say", max_tokens=3)
    assert completion.choices[0].text == " tok" * 3
    streamed = "".join(
        c.choices[0].text for c in client.completions.create(model="medgemma", prompt="Say", max_tokens=3, stream=True)
    )
    assert streamed == " tok" * 3


def test_gpt5_translation_and_unknown_fields_pass_through(stack: Stack) -> None:
    stack.client().chat.completions.create(
        model="gpt-5",
        messages=HELLO,
        max_tokens=7,
        temperature=0.2,
        seed=42,
        logprobs=True,
        response_format={"type": "json_object"},
        extra_body={"ignore_eos": True, "vendor_extra": {"a": 1}},
    )
    stats = stack.sim_stats()
    sent = stats["last_body"]
    assert sent["model"] == "gpt-5"
    assert sent["max_completion_tokens"] == 7 and "max_tokens" not in sent
    assert "temperature" not in sent
    assert sent["seed"] == 42 and sent["logprobs"] is True
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["ignore_eos"] is True and sent["vendor_extra"] == {"a": 1}
    # The backend's own key goes upstream, never the caller's.
    assert stats["last_headers"]["authorization"] == "Bearer sk-upstream-secret"


def test_gemma_messages_are_normalised_on_the_wire(stack: Stack) -> None:
    stack.client().chat.completions.create(
        model="medgemma",
        max_tokens=1,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "a"},
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": "c"},
            {"role": "developer", "content": "Answer in English."},
            {"role": "user", "content": "d"},
        ],
    )
    assert stack.sim_stats()["last_body"]["messages"] == [
        {"role": "system", "content": "You are terse.\n\nAnswer in English."},
        {"role": "user", "content": "a\n\nb"},
        {"role": "assistant", "content": "c"},
        {"role": "user", "content": "d"},
    ]
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().chat.completions.create(model="medgemma", messages=[{"role": "assistant", "content": "x"}])
    assert caught.value.body["param"] == "messages"  # type: ignore[index]


def test_request_id_is_returned_and_forwarded(stack: Stack) -> None:
    response = httpx.post(
        stack.facade.base_url + "/chat/completions",
        headers={"authorization": f"Bearer {TEST_KEY}", "x-request-id": "trace-abc-123"},
        json={"model": "medgemma", "messages": HELLO, "max_tokens": 1},
    )
    assert response.headers["x-request-id"] == "trace-abc-123"
    assert stack.sim_stats()["last_headers"]["x-request-id"] == "trace-abc-123"
    generated = httpx.get(stack.facade.root_url + "/health").headers["x-request-id"]
    assert len(generated) == 32


def test_authentication_errors(stack: Stack) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        stack.client(key="sk-wrong-key-0000000000000000").models.list()
    assert caught.value.code == "invalid_api_key"
    response = httpx.post(stack.facade.base_url + "/chat/completions", json={"model": "medgemma"})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    azure = httpx.get(stack.facade.base_url + "/models", headers={"api-key": TEST_KEY})
    assert azure.status_code == 200


def test_unknown_and_forbidden_models_look_the_same(stack: Stack) -> None:
    with pytest.raises(openai.NotFoundError) as unknown:
        stack.client().chat.completions.create(model="no-such-model", messages=HELLO)
    with pytest.raises(openai.NotFoundError) as forbidden:
        stack.client(key=LIMITED_KEY).chat.completions.create(model="medgemma", messages=HELLO)
    assert unknown.value.code == forbidden.value.code == "model_not_found"
    assert [m.id for m in stack.client(key=LIMITED_KEY).models.list()] == ["only-this"]
    assert stack.client().models.retrieve("gpt-5").id == "gpt-5"
    with pytest.raises(openai.NotFoundError):
        stack.client(key=LIMITED_KEY).models.retrieve("gpt-5")


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        (b'{"model": "medgemma"}', "messages"),
        (b'{"model": "medgemma", "messages": []}', "messages"),
        (b'{"model": "medgemma", "messages": [{"role": "wizard", "content": "x"}]}', "messages[0].role"),
        (b'{"model": "medgemma", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}', "max_tokens"),
    ],
)
def test_invalid_requests_get_400_with_param(stack: Stack, content: bytes, param: str | None) -> None:
    response = httpx.post(
        stack.facade.base_url + "/chat/completions",
        content=content,
        headers={"authorization": f"Bearer {TEST_KEY}", "content-type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param


def test_oversized_body_gets_413(stack: Stack) -> None:
    big = [{"role": "user", "content": "x" * 70_000}]
    with pytest.raises(openai.APIStatusError) as caught:
        stack.client().chat.completions.create(model="medgemma", messages=big)
    assert caught.value.status_code == 413


def test_unknown_route_and_method_are_openai_shaped(stack: Stack) -> None:
    response = httpx.post(stack.facade.base_url + "/nope", headers={"authorization": f"Bearer {TEST_KEY}"})
    assert response.status_code == 404 and "Invalid URL" in response.json()["error"]["message"]
    response = httpx.get(stack.facade.base_url + "/chat/completions")
    assert response.status_code == 405 and response.json()["error"]["type"] == "invalid_request_error"


def test_fallback_to_next_backend(stack: Stack) -> None:
    client = stack.client()
    for alias in ("fallback-dead", "fallback-5xx", "fallback-timeout"):
        completion = client.chat.completions.create(model=alias, messages=HELLO, max_tokens=2)
        assert completion.choices[0].message.content == " tok" * 2
        streamed = list(client.chat.completions.create(model=alias, messages=HELLO, max_tokens=2, stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in streamed) == " tok" * 2
    metrics = stack.metrics()
    assert 'pearcare_fallbacks_total{alias="fallback-dead"}' in metrics
    assert 'pearcare_fallbacks_total{alias="fallback-5xx"}' in metrics
    assert 'pearcare_fallbacks_total{alias="fallback-timeout"}' in metrics


def test_backend_down_gets_503_or_502_with_retry_after(stack: Stack) -> None:
    down = httpx.post(
        stack.facade.base_url + "/chat/completions",
        headers={"authorization": f"Bearer {TEST_KEY}"},
        json={"model": "all-down", "messages": HELLO},
    )
    assert down.status_code == 503 and down.headers["retry-after"]
    assert down.json()["error"]["code"] == "backend_unavailable"
    failing = httpx.post(
        stack.facade.base_url + "/chat/completions",
        headers={"authorization": f"Bearer {TEST_KEY}"},
        json={"model": "all-failing", "messages": HELLO},
    )
    assert failing.status_code == 502 and failing.headers["retry-after"]
    assert failing.json()["error"]["type"] == "server_error"
    with pytest.raises(openai.InternalServerError):
        stack.client().chat.completions.create(model="all-down", messages=HELLO)


def test_upstream_timeout_gets_504(stack: Stack) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        stack.client().chat.completions.create(model="slow", messages=HELLO, extra_body={"simulate": {"hang_ms": 2000}})
    assert caught.value.status_code == 504
    assert caught.value.code == "backend_timeout"


def test_error_after_stream_started_ends_with_error_event(stack: Stack) -> None:
    stream = stack.client().chat.completions.create(
        model="medgemma", messages=HELLO, max_tokens=8, stream=True, extra_body={"simulate": {"break_after": 3}}
    )
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk)
    assert len(received) >= 3
    assert "broke off" in caught.value.message


def test_client_disconnect_cancels_upstream(stack: Stack) -> None:
    before = stack.sim_stats()["cancelled"]
    with httpx.stream(
        "POST",
        stack.facade.base_url + "/chat/completions",
        headers={"authorization": f"Bearer {TEST_KEY}"},
        json={
            "model": "medgemma",
            "messages": HELLO,
            "max_tokens": 500,
            "stream": True,
            "simulate": {"tokens": 500, "itl_ms": 50},
        },
    ) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    deadline = time.monotonic() + 5
    while stack.sim_stats()["cancelled"] == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stack.sim_stats()["cancelled"] == before + 1
    assert 'pearcare_client_disconnects_total{alias="medgemma"}' in stack.metrics()


def test_non_streaming_disconnect_cancels_upstream(stack: Stack) -> None:
    before = stack.sim_stats()["cancelled"]
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            stack.facade.base_url + "/chat/completions",
            headers={"authorization": f"Bearer {TEST_KEY}", "x-request-id": "hung-up-1"},
            json={"model": "medgemma", "messages": HELLO, "simulate": {"hang_ms": 5000}},
            timeout=0.5,
        )
    eventually(lambda: stack.sim_stats()["cancelled"], lambda n: n == before + 1)
    # The access log records what the client never saw: 499, client_disconnected.
    line = eventually(lambda: logged_request(stack.facade, "hung-up-1"), lambda found: found is not None)
    assert line is not None and (line["status"], line["outcome"]) == (499, "client_disconnected")
    # Cancelled while waiting for the backend's first byte: the in-flight gauges fall back.
    assert 'pearcare_backend_in_flight{backend="sim"} 0.0' in stack.metrics()
    assert httpx.get(stack.facade.root_url + "/health/ready").json()["backends"]["sim"]["in_flight"] == 0


def logged_request(facade: Facade, request_id: str) -> dict[str, Any] | None:
    for text in facade.log_text().splitlines():
        if text.startswith("{") and request_id in text:
            line: dict[str, Any] = json.loads(text)
            if line.get("message") == "request" and line.get("request_id") == request_id:
                return line
    return None


def test_readiness_reports_each_backend(stack: Stack) -> None:
    response = httpx.get(stack.facade.root_url + "/health/ready")
    report = response.json()
    assert response.status_code == 503  # alias all-down has no reachable backend
    assert report["models"]["all-down"]["ready"] is False
    assert report["models"]["medgemma"]["ready"] is True
    assert report["backends"]["dead"]["state"] == "down"
    assert report["backends"]["sim"]["state"] == "healthy"


def test_metrics_and_logs(stack: Stack) -> None:
    canary = "PHI-CANARY-078-05-1121"
    client = stack.client()
    names = ("pearcare_store_round_trip_seconds", "pearcare_backend_response_start_seconds")
    before = histogram_totals(stack.metrics(), names)
    client.chat.completions.create(model="medgemma", messages=[{"role": "user", "content": canary}], max_tokens=2)
    list(client.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=2, stream=True))
    metrics = stack.metrics()
    assert 'pearcare_requests_total{alias="medgemma",route="/v1/chat/completions",status_class="2xx"}' in metrics
    assert 'pearcare_time_to_first_token_seconds_bucket{alias="medgemma"' in metrics
    assert 'pearcare_tokens_total{alias="medgemma",kind="completion"}' in metrics
    steps = histogram_totals(metrics, names)
    for name in names:  # (sum, count): both requests were admitted once and sent once
        assert steps[name][1] - before[name][1] == 2
        assert steps[name][0] > before[name][0]
    log_lines = [json.loads(line) for line in stack.facade.log_text().splitlines() if line.startswith("{")]
    assert any(line.get("route") == "/v1/chat/completions" and line.get("completion_tokens") for line in log_lines)
    assert canary not in stack.facade.log_text()
    assert all(line.get("request_id") for line in log_lines if line.get("message") == "request")
