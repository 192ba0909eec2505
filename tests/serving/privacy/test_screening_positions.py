"""Screening by protocol position (#30's five defects, each failing before its fix): object keys
are screened; `url` and `data` mean binary only inside content parts; token ids are refused for
every non-allow backend whatever the image grant; request-id pseudonyms are keyed; placeholders
restore with any number of digits, split anywhere, and reasoning is never JSON-escaped."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import orjson

from serving.privacy.finding_checks import Finding
from serving.privacy.policy import Outgoing
from serving.privacy.redaction import Redaction
from serving.privacy.restoration import ResponseStreamRestorer, StreamRestorer
from tests.serving.privacy.test_data_policy import IMAGES_KEY, MRN, NAME, chat, leaked, stack
from tests.support.inprocess import AUTH

PERSON_KEY = f"Patient {NAME} MRN {MRN}"


def tool_with_properties(*names: str) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": "record",
            "description": "store a note",
            "parameters": {
                "type": "object",
                "properties": {name: {"type": "string"} for name in names},
                "required": list(names),
            },
        },
    }


async def test_identifiers_in_object_keys_are_screened() -> None:
    body = chat(content="summarise the note", tools=[tool_with_properties(PERSON_KEY)])
    async with stack(data_policy="block") as (app, sim):
        refused = await app.client.post("/v1/chat/completions", json=body, headers=AUTH)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "phi_not_allowed"
        assert sim.simulator.received == []
    async with stack() as (app, sim):  # redact: the key leaves renamed, in properties and required alike
        answer = await app.client.post("/v1/chat/completions", json=body, headers=AUTH)
        assert answer.status_code == 200, answer.text
        assert leaked(sim) == []
        sent = json.loads(sim.simulator.received[-1])
        parameters = sent["tools"][0]["function"]["parameters"]
        assert list(parameters["properties"]) == parameters["required"] and "[NAME_1]" in parameters["required"][0]


async def test_url_and_data_outside_content_parts_are_text_not_binary() -> None:
    schema = {"type": "object", "properties": {"data": {"type": "string"}, "url": {"type": "string"}}}
    body = chat(
        content="fetch the leaflet",
        tools=[tool_with_properties("url", "data")],
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
    )
    async with stack() as (app, sim):
        answer = await app.client.post("/v1/chat/completions", json=body, headers=AUTH)
        assert answer.status_code == 200, answer.text
        sent = json.loads(sim.simulator.received[-1])
        assert set(sent["tools"][0]["function"]["parameters"]["properties"]) == {"url", "data"}
        # An image part is still binary: refused for a redact backend without the image grant.
        image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
        parts = chat(content=[{"type": "text", "text": "what is this?"}, image])
        refused = await app.client.post("/v1/chat/completions", json=parts, headers=AUTH)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "phi_not_allowed"


async def test_token_id_prompts_are_refused_for_a_redact_backend_even_with_the_image_grant() -> None:
    images = {"authorization": f"Bearer {IMAGES_KEY}"}
    async with stack() as (app, sim):
        for prompt in ([101, 2023, 2003], [[101, 2023], [2003]]):
            body = {"model": "gpt-5", "prompt": prompt, "max_tokens": 2}
            refused = await app.client.post("/v1/completions", json=body, headers=images)
            assert refused.status_code == 400, refused.text
            assert "token ids" in refused.json()["error"]["message"]
        embedding = await app.client.post("/v1/embeddings", json={"model": "gpt-5", "input": [1, 2, 3]}, headers=images)
        assert embedding.status_code == 400
        assert sim.simulator.received == []


def test_the_request_id_pseudonym_is_keyed() -> None:
    outgoing = Outgoing({}, None, False, "redact", b"deployment-secret-0123456789")
    request_id = f"encounter-{MRN}"
    pseudonym = outgoing.request_id(request_id)
    assert pseudonym != hashlib.sha256(b"pearcare:" + request_id.encode()).hexdigest()[:32]  # the unkeyed one
    expected = hmac.new(b"deployment-secret-0123456789", request_id.encode(), hashlib.sha256).hexdigest()[:32]
    assert pseudonym == expected and MRN not in pseudonym
    assert Outgoing({}, None, False, "allow", b"k").request_id(request_id) == request_id


async def test_a_configured_secret_keys_the_pseudonym_the_backend_receives() -> None:
    async with stack() as (app, sim):
        guard = app.app.state.services.guard
        guard._pseudonym_key = b"deployment-secret-0123456789"
        await app.client.post("/v1/chat/completions", json=chat(), headers={**AUTH, "x-request-id": f"enc-{MRN}"})
        sent = sim.simulator.last_headers["x-request-id"]
        assert sent == hmac.new(b"deployment-secret-0123456789", f"enc-{MRN}".encode(), hashlib.sha256).hexdigest()[:32]


def many_names() -> Redaction:
    redaction = Redaction()
    for number in range(1, 12_346):
        redaction.placeholder("NAME", f"Person {number}")
    return redaction


def sse(delta: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}) + b"\n\n"


def test_placeholders_with_five_digits_restore_split_anywhere() -> None:
    redaction = many_names()
    assert redaction.restore("seen [NAME_12345] today") == "seen Person 12345 today"
    text = "Dear [NAME_12345], and [NAME_9999]."
    for cut in range(1, len(text)):
        restorer = StreamRestorer(redaction, json_content=False)
        out = restorer.events(sse({"content": text[:cut]})) + restorer.events(sse({"content": text[cut:]}))
        out += restorer.finish() if hasattr(restorer, "finish") else b""
        received = "".join(
            json.loads(line[6:])["choices"][0]["delta"].get("content", "")
            for line in out.decode().splitlines()
            if line.startswith("data: {")
        )
        assert received == "Dear Person 12345, and Person 9999.", cut


def test_reasoning_done_text_is_not_json_escaped_when_the_answer_is_json() -> None:
    redaction = Redaction()
    quoted = 'Ann "Nan" Lee'
    placeholder = redaction.replace(quoted, [Finding("NAME", 0, len(quoted))])
    restorer = ResponseStreamRestorer(redaction, json_content=True)
    done = {"type": "response.reasoning_text.done", "item_id": "r1", "output_index": 0, "content_index": 0}
    event = b"event: x\ndata: " + orjson.dumps({**done, "text": f"about {placeholder}"}) + b"\n\n"
    restored = restorer.events(event).decode()
    payload = json.loads(restored.split("data: ", 1)[1])
    assert payload["text"] == f"about {quoted}"  # prose: the quotes stay quotes
    answer = {"type": "response.output_text.done", "item_id": "m1", "output_index": 1, "content_index": 0}
    event = b"event: x\ndata: " + orjson.dumps({**answer, "text": f'{{"who": "{placeholder}"}}'}) + b"\n\n"
    payload = json.loads(restorer.events(event).decode().split("data: ", 1)[1])
    assert json.loads(payload["text"]) == {"who": quoted}  # inside the JSON answer: escaped


def test_an_image_in_a_responses_tool_result_is_binary_and_ragged_token_ids_are_token_ids() -> None:
    from serving.privacy.detector import shared_detector
    from serving.privacy.positions import screen

    image = {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}
    body = {"model": "m", "input": [{"type": "function_call_output", "call_id": "c1", "output": [image]}]}
    assert screen(shared_detector(), body).unscreenable == "`input_image` content"
    assert screen(shared_detector(), {"model": "m", "prompt": [[1, 2], []]}).token_ids
