"""Data policies end to end in-process: the simulator stands in for GPT-5 (an `openai` backend,
redact by default) and echoes what reached it, so each test sees both what left the façade and
what the client got back. The canary identifiers must never reach the simulator from a
redact backend, and must come back to the client, streamed or not."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from loadtests.simulator import Behaviour
from serving.privacy.positions import answers_in_json
from tests.support.inprocess import AUTH, RunningApp, RunningSimulator, running_app, simulator_server
from tests.support.stack import facade_config, refused_url, vllm_backend

NAME, MRN, DOB, PHONE = "Rosalind Okafor", "00482913", "03/14/1957", "617-555-0134"
NOTE = f"Patient {NAME} (MRN {MRN}), DOB {DOB}, call {PHONE}. History of Graves disease on methimazole."
CANARIES = (NAME, MRN, DOB, PHONE, "Rosalind", "Okafor")
BAA_KEY = "sk-test-baa-tenant-0123456789abcdef"
IMAGES_KEY = "sk-test-images-tenant-0123456789ab"
ECHO = Behaviour(ttft_ms=1, itl_ms=1, tokens=4, echo=True, echo_chunk=3)


def openai_backend(base_url: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "openai", "base_url": base_url, "model": "gpt-5", "api_key": "sk-sim-provider-key", **extra}


@asynccontextmanager
async def stack(
    models: dict[str, list[str]] | None = None, behaviour: Behaviour = ECHO, **gpt: Any
) -> AsyncIterator[tuple[RunningApp, RunningSimulator]]:
    async with simulator_server(behaviour) as sim:
        config = facade_config(
            {
                "gpt": openai_backend(sim.base_url, **gpt),
                "local": vllm_backend(sim.base_url, "medgemma"),
                "down": vllm_backend(refused_url(), "medgemma"),
            },
            models or {"gpt-5": ["gpt"], "medgemma": ["local"], "medgemma-then-gpt": ["down", "gpt"]},
            max_request_bytes=1_000_000,
        )
        config["keys"] += [
            {"key": BAA_KEY, "name": "baa-tenant", "allow_phi": ["gpt"]},
            {"key": IMAGES_KEY, "name": "images-tenant", "allow_images": ["gpt"]},
        ]
        async with running_app(config) as app:
            yield app, sim


def leaked(sim: RunningSimulator) -> list[str]:
    sent = b"".join(sim.simulator.received).decode()
    return [canary for canary in CANARIES if canary in sent]


def chat(model: str = "gpt-5", content: str = NOTE, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def streamed_text(body: str, field: str = "content") -> str:
    text = ""
    for line in body.splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:])["choices"]:
                delta = choice.get("delta", {})
                if field == "arguments":
                    for call in delta.get("tool_calls") or ():
                        text += call["function"].get("arguments", "")
                else:
                    text += delta.get(field) or choice.get("text") or ""
    return text


async def test_redact_backend_never_sees_identifiers_and_the_client_gets_them_back() -> None:
    async with stack() as (app, sim):
        response = await app.client.post("/v1/chat/completions", json=chat(), headers=AUTH)
    assert response.status_code == 200, response.text
    assert leaked(sim) == []
    sent = sim.simulator.last_body["messages"][0]["content"]  # type: ignore[index]
    assert "[NAME_1]" in sent and "[MRN_1]" in sent and "[DATE_1]" in sent and "[PHONE_1]" in sent
    assert "Graves disease on methimazole" in sent  # clinical words stay
    assert response.json()["choices"][0]["message"]["content"] == NOTE


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7])
async def test_streamed_placeholders_split_across_events_are_restored(chunk: int) -> None:
    echo = Behaviour(ttft_ms=1, itl_ms=1, tokens=4, echo=True, echo_chunk=chunk)
    async with stack(behaviour=echo) as (app, sim):
        response = await app.client.post("/v1/chat/completions", json=chat(stream=True), headers=AUTH)
    assert response.status_code == 200
    assert leaked(sim) == []
    assert streamed_text(response.text) == NOTE
    assert response.text.rstrip().endswith("data: [DONE]")


async def test_tool_call_arguments_are_restored_as_json_streamed_and_not() -> None:
    quoted = 'Patient "Rosalind Okafor" (MRN 00482913)'
    tool = Behaviour(ttft_ms=1, itl_ms=1, tokens=4, echo=True, echo_chunk=4, echo_as_tool_call=True)
    async with stack(behaviour=tool) as (app, sim):
        whole = await app.client.post("/v1/chat/completions", json=chat(content=quoted), headers=AUTH)
        streamed = await app.client.post("/v1/chat/completions", json=chat(content=quoted, stream=True), headers=AUTH)
    assert leaked(sim) == []
    arguments = whole.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(arguments) == {"text": quoted}
    assert json.loads(streamed_text(streamed.text, "arguments")) == {"text": quoted}


async def test_completions_prompt_is_redacted_and_restored() -> None:
    async with stack() as (app, sim):
        response = await app.client.post("/v1/completions", json={"model": "gpt-5", "prompt": NOTE}, headers=AUTH)
        streamed = await app.client.post(
            "/v1/completions", json={"model": "gpt-5", "prompt": NOTE, "stream": True}, headers=AUTH
        )
    assert leaked(sim) == []
    assert response.json()["choices"][0]["text"] == NOTE
    assert streamed_text(streamed.text) == NOTE


async def test_allow_backend_gets_the_request_untouched_and_no_detection_runs() -> None:
    async with stack() as (app, sim):
        response = await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=AUTH)
        assert app.metric("pearcare_phi_detection_seconds_count") == 0
    assert response.json()["choices"][0]["message"]["content"] == NOTE
    assert sim.simulator.last_body["messages"][0]["content"] == NOTE  # type: ignore[index]


async def test_block_refuses_with_the_types_never_the_values() -> None:
    async with stack(data_policy="block") as (app, sim):
        refused = await app.client.post("/v1/chat/completions", json=chat(), headers=AUTH)
        clean = await app.client.post("/v1/chat/completions", json=chat(content="What is a normal A1c?"), headers=AUTH)
        assert app.metric("pearcare_data_policy_total", backend="gpt", action="blocked") == 1
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "phi_not_allowed" and error["type"] == "invalid_request_error"
    assert error["param"] == "messages"
    assert "NAME" in error["message"] and "MRN" in error["message"]
    assert not any(canary in refused.text for canary in CANARIES)
    assert sim.simulator.requests == 1  # only the clean one
    assert clean.status_code == 200


async def test_fallback_from_allow_to_redact_redacts() -> None:
    async with stack() as (app, sim):
        response = await app.client.post("/v1/chat/completions", json=chat("medgemma-then-gpt"), headers=AUTH)
    assert response.status_code == 200
    assert response.headers.get("x-request-id")
    assert leaked(sim) == []
    assert response.json()["choices"][0]["message"]["content"] == NOTE


async def test_detection_runs_once_per_request_across_several_redact_fallbacks() -> None:
    """Two redact backends in a row, the first refusing connections: the note is screened once,
    and the placeholders screened for the first are what the second receives."""
    async with simulator_server(ECHO) as sim:
        config = facade_config(
            {
                "gpt-down": openai_backend(refused_url()),
                "gpt": openai_backend(sim.base_url),
            },
            {"gpt-5": ["gpt-down", "gpt"]},
        )
        async with running_app(config) as app:
            response = await app.client.post("/v1/chat/completions", json=chat(), headers=AUTH)
            assert response.status_code == 200 and leaked(sim) == []
            assert response.json()["choices"][0]["message"]["content"] == NOTE
            assert app.metric("pearcare_phi_detection_seconds_count") == 1


async def test_embeddings_input_is_redacted_for_a_redact_backend() -> None:
    async with stack() as (app, sim):
        response = await app.client.post(
            "/v1/embeddings", json={"model": "gpt-5", "input": [NOTE, "no identifiers here"]}, headers=AUTH
        )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 2
    sent = b"".join(sim.simulator.received)
    assert b"no identifiers here" in sent and b"methimazole" in sent  # the request reached it, redacted
    assert leaked(sim) == []


async def test_fallback_from_allow_to_block_refuses() -> None:
    async with stack(data_policy="block") as (app, sim):
        response = await app.client.post("/v1/chat/completions", json=chat("medgemma-then-gpt"), headers=AUTH)
    # The allowed backend's failure is what the client may retry; the message says why the
    # fallback did not serve.
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "backend_unavailable"
    assert "The fallback was not used" in error["message"] and "blocks them" in error["message"]
    assert not any(canary in response.text for canary in CANARIES)
    assert sim.simulator.requests == 0


async def test_an_alias_of_block_backends_refuses_with_phi_not_allowed() -> None:
    async with stack({"gpt-only": ["gpt"]}, data_policy="block") as (app, sim):
        response = await app.client.post("/v1/chat/completions", json=chat("gpt-only"), headers=AUTH)
    assert response.status_code == 400 and response.json()["error"]["code"] == "phi_not_allowed"
    assert sim.simulator.requests == 0


async def test_the_clients_request_id_does_not_leave_for_a_non_allow_backend() -> None:
    headers = {**AUTH, "x-request-id": "encounter-MRN-00482913"}
    async with stack() as (app, sim):
        await app.client.post("/v1/chat/completions", json=chat(), headers=headers)
        assert sim.simulator.last_headers["x-request-id"] != "encounter-MRN-00482913"
        await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=headers)
        assert sim.simulator.last_headers["x-request-id"] == "encounter-MRN-00482913"


async def test_a_key_with_its_own_baa_sends_identifiers_as_they_are() -> None:
    async with stack() as (app, sim):
        response = await app.client.post(
            "/v1/chat/completions", json=chat(), headers={"authorization": f"Bearer {BAA_KEY}"}
        )
    assert response.status_code == 200
    assert sim.simulator.last_body["messages"][0]["content"] == NOTE  # type: ignore[index]


IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


async def test_images_to_a_non_allow_backend_need_the_keys_grant() -> None:
    content = [{"type": "text", "text": "What does this rash look like?"}, IMAGE]
    async with stack() as (app, sim):
        refused = await app.client.post("/v1/chat/completions", json=chat(content=content), headers=AUTH)
        granted = await app.client.post(
            "/v1/chat/completions", json=chat(content=content), headers={"authorization": f"Bearer {IMAGES_KEY}"}
        )
        local = await app.client.post("/v1/chat/completions", json=chat("medgemma", content=content), headers=AUTH)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "phi_not_allowed"
    assert "`image_url` content can't be screened" in refused.json()["error"]["message"]
    assert granted.status_code == 200
    assert local.status_code == 200
    assert sim.simulator.requests == 2


async def test_the_same_identifier_gets_one_placeholder_across_turns() -> None:
    messages = [
        {"role": "user", "content": f"My name is {NAME}."},
        {"role": "assistant", "content": "Thank you."},
        {"role": "user", "content": f"Again, I am {NAME}, and my brother is Tobias Okafor."},
    ]
    async with stack() as (app, sim):
        response = await app.client.post(
            "/v1/chat/completions", json={"model": "gpt-5", "messages": messages}, headers=AUTH
        )
    sent = [m["content"] for m in sim.simulator.last_body["messages"]]  # type: ignore[index]
    assert "[NAME_1]" in sent[0] and "[NAME_1]" in sent[2] and "[NAME_2]" in sent[2]
    assert response.json()["choices"][0]["message"]["content"] == messages[2]["content"]


async def test_a_placeholder_the_client_wrote_itself_is_left_alone() -> None:
    content = f"Template uses [NAME_1] as a field; the patient is {NAME}."
    async with stack() as (app, _):
        response = await app.client.post("/v1/chat/completions", json=chat(content=content), headers=AUTH)
    assert response.json()["choices"][0]["message"]["content"] == content


async def test_no_identifier_reaches_logs_or_metrics(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with stack() as (app, _):
        await app.client.post("/v1/chat/completions", json=chat(), headers=AUTH)
        await app.client.post("/v1/chat/completions", json=chat(stream=True), headers=AUTH)
        exposition = app.metrics.render().decode()
        assert app.metric("pearcare_phi_entities_total", type="NAME") == 2
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    for canary in CANARIES:
        assert canary not in logged
        assert canary not in exposition


async def test_the_access_log_says_which_policy_applied(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="serving.access_log")
    async with stack() as (app, _):
        await app.client.post("/v1/chat/completions", json=chat(), headers=AUTH)
    line = [r for r in caplog.records if r.name == "serving.access_log"][-1]
    assert line.data_policy == "redact"  # type: ignore[attr-defined]
    assert line.phi == {"NAME": 1, "MRN": 1, "DATE": 1, "PHONE": 1}  # type: ignore[attr-defined]


def test_key_grants_must_name_configured_backends() -> None:
    from serving.settings import ServingConfig

    config = facade_config({"local": vllm_backend("http://127.0.0.1:1/v1", "m")}, {"medgemma": ["local"]})
    config["keys"].append({"key": BAA_KEY, "name": "baa", "allow_phi": ["nowhere"]})
    with pytest.raises(ValueError, match="unknown backend"):
        ServingConfig.model_validate(config)


async def test_consultation_stages_on_a_redact_backend_get_placeholders() -> None:
    from serving.settings import REPO_ROOT

    symptoms = f"I am {NAME}, call me at {PHONE}. Throbbing headache with flashing lights since yesterday."
    async with simulator_server() as gpt_sim, simulator_server() as local_sim:
        config = facade_config(
            {"gpt": openai_backend(gpt_sim.base_url), "local": vllm_backend(local_sim.base_url, "medgemma")},
            {"gpt-5": ["gpt"], "medgemma": ["local"]},
        )
        config["consultation"] = {
            "stages": {"intake": "gpt-5", "icd": "medgemma", "cpt": "medgemma", "summary": "gpt-5"},
            "providers_file": str(REPO_ROOT / "configs" / "providers.json"),
        }
        async with running_app(config) as app:
            response = await app.client.post(
                "/v1/consultations",
                json={"symptoms": symptoms, "patient_data": {"age": 34, "gender": "female", "location": "02139"}},
                headers=AUTH,
            )
    assert response.status_code == 200, response.text
    assert gpt_sim.simulator.requests >= 2  # intake and summary
    assert leaked(gpt_sim) == []
    assert "[NAME_1]" in b"".join(gpt_sim.simulator.received).decode()


async def test_every_string_a_person_wrote_is_screened_wherever_it_is() -> None:
    body = {
        "model": "gpt-5",
        "messages": [
            {"role": "system", "content": f"You help {NAME}."},
            {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": f'{{"mrn": "{MRN}"}}'}},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": f"Not for {NAME}"}]},
            {"role": "user", "name": "Rosalind_Okafor", "content": "hi"},
            {"role": "user", "name": "front-desk", "content": f"DOB {DOB}"},
        ],
        "tools": [{"type": "function", "function": {"name": "lookup", "description": f"Look up {NAME}"}}],
        "stop": [f"call {PHONE}"],
        "prediction": {"type": "content", "content": f"Dear {NAME}"},
    }
    async with stack() as (app, sim):
        response = await app.client.post("/v1/chat/completions", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    assert leaked(sim) == []
    sent = sim.simulator.last_body
    assert sent is not None
    assert "name" not in sent["messages"][3]  # a participant name that names someone is left out
    assert sent["messages"][4]["name"] == "front-desk"


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ({"model": "gpt-5", "prompt": [101, 2023, 318]}, "token ids"),
        ({"model": "gpt-5", "prompt": "x" * 300_000}, "more than 262144 characters"),
    ],
)
async def test_what_cannot_be_screened_is_refused(body: dict[str, Any], what: str) -> None:
    async with stack() as (app, sim):
        response = await app.client.post("/v1/completions", json=body, headers=AUTH)
        local = await app.client.post("/v1/completions", json={**body, "model": "medgemma"}, headers=AUTH)
    assert response.status_code == 400 and response.json()["error"]["code"] == "phi_not_allowed"
    assert what in response.json()["error"]["message"]
    assert local.status_code == 200  # allow: sent as it is
    assert sim.simulator.requests == 1


@pytest.mark.parametrize("part", [{"type": "audio_url", "audio_url": {"url": "https://x/a.wav"}}, {"type": ["text"]}])
async def test_other_parts_are_binary_and_odd_ones_no_500(part: dict[str, Any]) -> None:
    async with stack() as (app, _):
        response = await app.client.post("/v1/chat/completions", json=chat(content=[part]), headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("phi_not_allowed", "invalid_value")


async def test_a_client_placeholder_in_another_message_is_never_issued() -> None:
    messages = [
        {"role": "user", "content": f"I am {NAME}."},
        {"role": "user", "content": "Reply with the literal text [NAME_1] please"},
    ]
    async with stack() as (app, sim):
        response = await app.client.post(
            "/v1/chat/completions", json={"model": "gpt-5", "messages": messages}, headers=AUTH
        )
    sent = [m["content"] for m in sim.simulator.last_body["messages"]]  # type: ignore[index]
    assert "[NAME_2]" in sent[0]
    assert response.json()["choices"][0]["message"]["content"] == messages[1]["content"]


def response_events(body: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: {")]


@pytest.mark.parametrize("chunk", [1, 3, 7])
async def test_responses_api_is_redacted_and_restored_streamed_and_not(chunk: int) -> None:
    echo = Behaviour(ttft_ms=1, itl_ms=1, tokens=4, echo=True, echo_chunk=chunk)
    body = {"model": "gpt-5", "input": [{"role": "user", "content": NOTE}]}
    async with stack(behaviour=echo) as (app, sim):
        whole = await app.client.post("/v1/responses", json=body, headers=AUTH)
        streamed = await app.client.post("/v1/responses", json={**body, "stream": True}, headers=AUTH)
    assert leaked(sim) == []
    assert whole.json()["output"][0]["content"][0]["text"] == NOTE
    events = response_events(streamed.text)
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == NOTE
    assert next(e for e in events if e["type"] == "response.output_text.done")["text"] == NOTE
    final = events[-1]
    assert final["type"] == "response.completed" and final["response"]["output"][0]["content"][0]["text"] == NOTE
    # Released tails are events of their own: the sequence stays one increasing count.
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    # A tail held back is released before its done event, never after.
    kinds = [e["type"] for e in events]
    assert kinds.index("response.output_text.done") > max(
        i for i, k in enumerate(kinds) if k == "response.output_text.delta"
    )


async def test_responses_api_function_call_arguments_are_restored_as_json() -> None:
    quoted = 'Patient "Rosalind Okafor" (MRN 00482913)'
    tool = Behaviour(ttft_ms=1, itl_ms=1, tokens=4, echo=True, echo_chunk=4, echo_as_tool_call=True)
    body = {"model": "gpt-5", "input": quoted}
    async with stack(behaviour=tool) as (app, sim):
        whole = await app.client.post("/v1/responses", json=body, headers=AUTH)
        streamed = await app.client.post("/v1/responses", json={**body, "stream": True}, headers=AUTH)
    assert leaked(sim) == []
    assert json.loads(whole.json()["output"][0]["arguments"]) == {"text": quoted}
    events = response_events(streamed.text)
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
    assert json.loads(deltas) == {"text": quoted}
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert json.loads(done["arguments"]) == {"text": quoted}


async def test_a_responses_output_schema_is_screened_and_its_json_restored_escaped() -> None:
    quoted = 'Patient "Rosalind Okafor" (MRN 00482913)'
    schema = {"type": "object", "description": f"Summary for {NAME}", "properties": {"text": {"type": "string"}}}
    body = {
        "model": "gpt-5",
        "input": quoted,
        "text": {"format": {"type": "json_schema", "name": "summary", "schema": schema}},
    }
    tool = Behaviour(ttft_ms=1, itl_ms=1, tokens=4, echo=True, echo_chunk=4)
    async with stack(behaviour=tool) as (app, sim):
        response = await app.client.post("/v1/responses", json=body, headers=AUTH)
    assert leaked(sim) == []  # the schema's description too
    assert sim.simulator.last_body["text"]["format"]["schema"]["description"] == "Summary for [NAME_1]"  # type: ignore[index]
    assert response.json()["output"][0]["content"][0]["text"] == quoted
    # The answer is a JSON document: identifiers go back into it JSON-escaped.
    assert answers_in_json(body) and not answers_in_json({"text": {"format": {"type": "text"}}})
