"""Wire models: the body parsed as one JSON object, validated, unknown fields kept."""

from __future__ import annotations

import pytest

from serving.errors import InvalidRequest, RequestTooLarge
from serving.protocol import ChatCompletionRequest, CompletionRequest, parse_json_object, validate


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"{", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
    ],
)
def test_bodies_that_are_not_one_json_object(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_json_object(raw, 1024)


def test_a_body_over_the_limit() -> None:
    with pytest.raises(RequestTooLarge):
        parse_json_object(b"{}" + b" " * 1024, 1024)


def test_unknown_fields_pass_through_and_known_ones_are_checked() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi", "name": "x"}], "seed": 7, "tools": []}
    parsed = validate(ChatCompletionRequest, body)
    assert parsed.model_extra == {"seed": 7, "tools": []}
    assert not parsed.wants_usage_chunk
    assert validate(ChatCompletionRequest, {**body, "stream_options": {"include_usage": True}}).wants_usage_chunk
    with pytest.raises(InvalidRequest) as bad_role:
        validate(ChatCompletionRequest, {"model": "m", "messages": [{"role": "robot", "content": "hi"}]})
    assert bad_role.value.param == "messages[0].role"
    with pytest.raises(InvalidRequest) as too_many:
        validate(CompletionRequest, {"model": "m", "prompt": "x", "n": 1000})
    assert too_many.value.param == "n"


@pytest.mark.parametrize(
    ("tool_calls", "param"),
    [
        (["x"], "messages[1].tool_calls[0]"),
        ([{"function": "x"}], "messages[1].tool_calls[0].function"),
        ([{"function": {"name": 1, "arguments": "{}"}}], "messages[1].tool_calls[0].function.name"),
        ([{"function": {"name": "f"}}], "messages[1].tool_calls[0].function.arguments"),
        ("calls", "messages[1].tool_calls"),
        ([None], "messages[1].tool_calls[0]"),
    ],
)
def test_malformed_tool_calls_are_a_400_that_points_at_them(tool_calls: object, param: str) -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": tool_calls},
        ],
    }
    with pytest.raises(InvalidRequest) as caught:
        validate(ChatCompletionRequest, body)
    assert caught.value.param == param


def test_well_formed_tool_calls_pass_through_untouched() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}, "extra": 1}
    body = {"model": "m", "messages": [{"role": "assistant", "content": None, "tool_calls": [call]}]}
    assert validate(ChatCompletionRequest, body).messages[0].tool_calls is not None
    assert body["messages"][0]["tool_calls"] == [call]  # the raw body is what is forwarded
