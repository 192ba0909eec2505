"""End to end: the official openai client -> the façade -> the real vLLM CPU server."""

from __future__ import annotations

import json
import re
import time

import httpx
import openai
import pytest

from loadtests.devstack.vllm_cpu import VllmCpuServer
from tests.support.stack import TEST_KEY, Facade

pytestmark = pytest.mark.vllm

HELLO = [{"role": "user", "content": "Describe a migraine."}]


def client_for(facade: Facade) -> openai.OpenAI:
    return openai.OpenAI(base_url=facade.base_url, api_key=TEST_KEY, max_retries=0)


def running_requests(vllm: VllmCpuServer) -> float:
    text = httpx.get(vllm.root_url + "/metrics").text
    values = re.findall(r"^vllm:num_requests_running\{[^}]*\} ([0-9.e+]+)$", text, re.MULTILINE)
    assert values, "vLLM exports vllm:num_requests_running"
    return sum(float(v) for v in values)


def test_chat_completion(vllm_facade: Facade) -> None:
    completion = client_for(vllm_facade).chat.completions.create(
        model="medgemma", messages=HELLO, max_tokens=6, extra_body={"ignore_eos": True}
    )
    assert isinstance(completion.choices[0].message.content, str)
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 6 and completion.usage.prompt_tokens > 0
    assert completion.model == "gemma-3-270m"


def test_chat_streaming_incremental_with_and_without_usage(vllm_facade: Facade) -> None:
    client = client_for(vllm_facade)
    arrivals, chunks = [], []
    for chunk in client.chat.completions.create(
        model="medgemma", messages=HELLO, max_tokens=12, stream=True, extra_body={"ignore_eos": True}
    ):
        arrivals.append(time.perf_counter())
        chunks.append(chunk)
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) >= 10  # one token per chunk, relayed one by one
    assert arrivals[-1] - arrivals[1] > 0.2  # ~20 tokens/s: spread out, not buffered
    assert all(c.usage is None for c in chunks)

    with_usage = list(
        client.chat.completions.create(
            model="medgemma",
            messages=HELLO,
            max_tokens=5,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"ignore_eos": True},
        )
    )
    assert with_usage[-1].choices == []
    assert with_usage[-1].usage is not None and with_usage[-1].usage.completion_tokens == 5
    assert sum(1 for c in with_usage if c.usage is not None) == 1


def test_completions(vllm_facade: Facade) -> None:
    client = client_for(vllm_facade)
    completion = client.completions.create(
        model="medgemma", prompt="The patient reports", max_tokens=4, extra_body={"ignore_eos": True}
    )
    assert completion.usage is not None and completion.usage.completion_tokens == 4
    pieces = [
        c.choices[0].text
        for c in client.completions.create(
            model="medgemma", prompt="The patient reports", max_tokens=4, stream=True, extra_body={"ignore_eos": True}
        )
    ]
    assert len(pieces) >= 4


def test_models_list_and_retrieve(vllm_facade: Facade) -> None:
    client = client_for(vllm_facade)
    assert {m.id for m in client.models.list()} == {"medgemma", "fallback"}
    assert client.models.retrieve("medgemma").owned_by == "pearcare"


def test_embeddings_get_a_clear_error(vllm_facade: Facade) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client_for(vllm_facade).embeddings.create(model="medgemma", input="headache")
    assert caught.value.code == "model_not_supported"
    assert "does not serve embeddings" in caught.value.message


def test_json_schema_response_format_passes_through(vllm_facade: Facade) -> None:
    schema = {
        "type": "object",
        "properties": {"severity": {"type": "string", "enum": ["mild", "moderate", "severe"]}},
        "required": ["severity"],
        "additionalProperties": False,
    }
    completion = client_for(vllm_facade).chat.completions.create(
        model="medgemma",
        messages=[{"role": "user", "content": "Rate the severity of a mild headache as JSON."}],
        max_tokens=40,
        response_format={"type": "json_schema", "json_schema": {"name": "rating", "schema": schema}},
    )
    content = completion.choices[0].message.content
    assert content is not None
    assert json.loads(content)["severity"] in {"mild", "moderate", "severe"}


def test_vllm_errors_are_rewritten_to_openai_shape(vllm_facade: Facade) -> None:
    response = httpx.post(
        vllm_facade.base_url + "/chat/completions",
        headers={"authorization": f"Bearer {TEST_KEY}"},
        json={"model": "medgemma", "messages": HELLO, "max_tokens": 5000},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"  # vLLM says "BadRequestError"
    assert error["param"] == "max_tokens" and error["code"] is None  # vLLM says 400
    assert "max_model_len" in error["message"]


def test_gemma_normalisation_makes_any_message_list_work(vllm_facade: Facade, vllm_server: VllmCpuServer) -> None:
    messages = [
        {"role": "system", "content": "You are a triage assistant."},
        {"role": "user", "content": "I have a headache."},
        {"role": "user", "content": "It started yesterday."},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "R51"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "R51.9 Headache, unspecified"},
    ]
    # vLLM runs our tool template (configs/vllm/gemma3_tools.jinja), which renders tool turns
    # and calls itself: a client calling vLLM directly gets the same list through.
    direct = openai.OpenAI(base_url=vllm_server.base_url, api_key=vllm_server.api_key, max_retries=0)
    answered = direct.chat.completions.create(model=vllm_server.served_model_name, messages=messages, max_tokens=2)
    assert answered.choices[0].finish_reason in {"length", "stop"}
    completion = client_for(vllm_facade).chat.completions.create(model="medgemma", messages=messages, max_tokens=2)
    assert completion.choices[0].finish_reason in {"length", "stop"}


def test_client_disconnect_aborts_the_vllm_request(vllm_facade: Facade, vllm_server: VllmCpuServer) -> None:
    assert running_requests(vllm_server) == 0
    with httpx.stream(
        "POST",
        vllm_facade.base_url + "/chat/completions",
        headers={"authorization": f"Bearer {TEST_KEY}"},
        json={"model": "medgemma", "messages": HELLO, "max_tokens": 1500, "ignore_eos": True, "stream": True},
        timeout=30,
    ) as response:
        lines = response.iter_lines()
        for _ in range(6):
            next(lines)
        deadline = time.monotonic() + 5
        while running_requests(vllm_server) < 1 and time.monotonic() < deadline:
            next(lines)
        assert running_requests(vllm_server) == 1
    deadline = time.monotonic() + 10
    while running_requests(vllm_server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running_requests(vllm_server) == 0, "vLLM still generating for a client that left"


def test_fallback_from_a_dead_backend(vllm_facade: Facade) -> None:
    completion = client_for(vllm_facade).chat.completions.create(model="fallback", messages=HELLO, max_tokens=2)
    assert completion.usage is not None and completion.usage.completion_tokens <= 2


def test_readiness_with_vllm_up(vllm_facade: Facade) -> None:
    report = httpx.get(vllm_facade.root_url + "/health/ready").json()
    assert report["backends"]["local-vllm"]["state"] == "healthy"
    assert report["models"]["medgemma"]["ready"] and report["models"]["fallback"]["ready"]
