"""Restoration of placeholders in SSE streams, event by event: splits anywhere, several
choices, tool calls, a stream cut before [DONE], text that only looks like a placeholder."""

from __future__ import annotations

import json
from typing import Any

import pytest

from serving.privacy.placeholders import could_begin_placeholder
from serving.privacy.redaction import Redaction
from serving.privacy.restoration import ResponseStreamRestorer, StreamRestorer, restore_body


def redaction() -> Redaction:
    redacted = Redaction()
    assert redacted.placeholder("NAME", "Rosalind Okafor") == "[NAME_1]"
    assert redacted.placeholder("MRN", "00482913") == "[MRN_1]"
    assert redacted.placeholder("NAME", "rosalind  OKAFOR") == "[NAME_1]"  # the same person
    return redacted


def event(choices: list[dict[str, Any]]) -> bytes:
    return (
        b"data: " + json.dumps({"id": "c1", "object": "chat.completion.chunk", "choices": choices}).encode() + b"\n\n"
    )


def run(restorer: StreamRestorer, events: list[bytes]) -> list[dict[str, Any]]:
    out = b"".join(restorer.events(e) for e in events) + restorer.finish()
    return [json.loads(line[6:]) for line in out.decode().splitlines() if line.startswith("data: {")]


def text_of(chunks: list[dict[str, Any]], index: int = 0, field: str = "content") -> str:
    return "".join(c["delta"].get(field) or "" for chunk in chunks for c in chunk["choices"] if c["index"] == index)


@pytest.mark.parametrize("size", [1, 2, 4, 9, 100])
def test_any_split_restores_the_whole_text(size: int) -> None:
    sent = "Hello [NAME_1], your record [MRN_1] is ready. [NAME_1]!"
    pieces = [sent[i : i + size] for i in range(0, len(sent), size)]
    events = [event([{"index": 0, "delta": {"content": p}, "finish_reason": None}]) for p in pieces]
    events.append(event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    chunks = run(StreamRestorer(redaction(), json_content=False), events)
    assert text_of(chunks) == "Hello Rosalind Okafor, your record 00482913 is ready. Rosalind Okafor!"


def test_two_choices_are_held_apart() -> None:
    events = [
        event([{"index": 0, "delta": {"content": "A [NA"}, "finish_reason": None}]),
        event([{"index": 1, "delta": {"content": "B [MR"}, "finish_reason": None}]),
        event([{"index": 1, "delta": {"content": "N_1]"}, "finish_reason": None}]),
        event([{"index": 0, "delta": {"content": "ME_1]"}, "finish_reason": "stop"}]),
        event([{"index": 1, "delta": {}, "finish_reason": "stop"}]),
    ]
    chunks = run(StreamRestorer(redaction(), json_content=False), events)
    assert text_of(chunks, 0) == "A Rosalind Okafor" and text_of(chunks, 1) == "B 00482913"


def test_held_text_comes_out_when_the_stream_ends_without_finishing() -> None:
    events = [event([{"index": 0, "delta": {"content": "see [NAM"}, "finish_reason": None}])]
    chunks = run(StreamRestorer(redaction(), json_content=False), events)
    assert text_of(chunks) == "see [NAM"
    assert chunks[-1]["id"] == "c1"


def test_brackets_that_cannot_be_placeholders_are_not_held() -> None:
    restorer = StreamRestorer(redaction(), json_content=False)
    first = restorer.events(
        event([{"index": 0, "delta": {"content": "a [link](x) [1] [NAME_"}, "finish_reason": None}])
    )
    assert "a [link](x) [1] " in first.decode() and "[NAME_" not in first.decode()
    assert not could_begin_placeholder("[link") and could_begin_placeholder("[HEALTH_P")
    assert could_begin_placeholder("[NAME_12") and could_begin_placeholder("[NAME_12345")
    assert not could_begin_placeholder("[NAME_1234567890")  # more digits than any placeholder has


def test_tool_call_arguments_are_restored_as_json_strings() -> None:
    redacted = Redaction()
    redacted.placeholder("NAME", 'Ann "Nan" Lee')
    events = [
        event([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"who": "[NA'}}]}}]),
        event([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": 'ME_1]"}'}}]}}]),
        event([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
    ]
    chunks = run(StreamRestorer(redacted, json_content=False), events)
    arguments = "".join(
        call["function"]["arguments"]
        for chunk in chunks
        for choice in chunk["choices"]
        for call in choice["delta"].get("tool_calls") or ()
    )
    assert json.loads(arguments) == {"who": 'Ann "Nan" Lee'}


def test_usage_chunks_and_done_pass_through() -> None:
    usage = b'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3}}\n\n'
    restorer = StreamRestorer(redaction(), json_content=False)
    assert json.loads(restorer.events(usage)[6:])["usage"] == {"prompt_tokens": 3}
    assert restorer.events(b"data: [DONE]\n\n") == b"data: [DONE]\n\n"


def test_whole_documents_and_structured_output() -> None:
    body = {"choices": [{"index": 0, "message": {"content": '{"patient": "[NAME_1]"}'}}]}
    redacted = Redaction()
    redacted.placeholder("NAME", 'Ann "Nan" Lee')
    restored = json.loads(restore_body(json.dumps(body).encode(), redacted, json_content=True))
    assert json.loads(restored["choices"][0]["message"]["content"]) == {"patient": 'Ann "Nan" Lee'}
    assert restore_body(b"not json", redacted, json_content=False) == b"not json"


def test_events_with_other_fields_or_split_data_lines_are_restored() -> None:
    chunk = {"id": "c1", "choices": [{"index": 0, "delta": {"content": "hi [NAME_1]"}, "finish_reason": "stop"}]}
    text = json.dumps(chunk)
    split = text.index(', "choices"')  # a data field over two lines (joined with a newline)
    event_with_id = b"id: 7\ndata: " + text.encode() + b"\n\n"
    two_lines = b"data: " + text[:split].encode() + b"\ndata: " + text[split:].encode() + b"\n\n"
    for raw in (event_with_id, two_lines):
        out = StreamRestorer(redaction(), json_content=False).events(raw).decode()
        assert "Rosalind Okafor" in out and "[NAME_1]" not in out
    assert out.count("data:") == 1


def response_event(kind: str, **fields: Any) -> bytes:
    payload = {"type": kind, "sequence_number": 99, **fields}
    return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()


def test_a_responses_stream_cut_before_its_done_event_releases_the_held_tail() -> None:
    restorer = ResponseStreamRestorer(redaction(), json_content=False)
    at = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    events = [
        response_event("response.output_text.delta", delta="Seen: [NAME", **at),
        response_event("response.output_text.delta", delta="_1] and [MR", **at),
        response_event("response.reasoning_summary_text.delta", delta="about [MRN_1", **at),
        response_event("response.refusal.delta", delta="plain", **at),
    ]
    out = b"".join(restorer.events(e) for e in events) + restorer.finish()
    payloads = [json.loads(line[6:]) for line in out.decode().splitlines() if line.startswith("data: {")]
    text = "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta")
    summary = "".join(p["delta"] for p in payloads if p["type"] == "response.reasoning_summary_text.delta")
    assert text == "Seen: Rosalind Okafor and [MR"  # "[MR" never became a placeholder: sent as it is
    assert summary == "about [MRN_1"
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    assert all(line.startswith("event: ") for line in out.decode().split("\n\n") if line)


def test_a_responses_document_is_restored_everywhere() -> None:
    document = {
        "object": "response",
        "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "[NAME_1] again"}]},
            {
                "type": "message",
                "content": [{"type": "output_text", "text": "Hi [NAME_1]"}, {"type": "refusal", "refusal": "[MRN_1]"}],
            },
            {"type": "function_call", "arguments": '{"who": "[NAME_1]"}'},
        ],
        "output_text": "Hi [NAME_1]",
    }
    restored = json.loads(restore_body(json.dumps(document).encode(), redaction(), json_content=False))
    assert restored["output"][0]["summary"][0]["text"] == "Rosalind Okafor again"
    assert restored["output"][1]["content"][0]["text"] == "Hi Rosalind Okafor"
    assert restored["output"][1]["content"][1]["refusal"] == "00482913"
    assert json.loads(restored["output"][2]["arguments"]) == {"who": "Rosalind Okafor"}
    assert restored["output_text"] == "Hi Rosalind Okafor"
