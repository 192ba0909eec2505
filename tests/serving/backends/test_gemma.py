from __future__ import annotations

import pytest

from serving.backends.gemma import normalise_gemma3_messages
from serving.errors import InvalidRequest


def test_plain_conversation_is_unchanged() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]
    assert normalise_gemma3_messages(messages) == messages


def test_system_and_developer_fold_into_one_leading_system() -> None:
    out = normalise_gemma3_messages(
        [
            {"role": "user", "content": "a"},
            {"role": "system", "content": "s1"},
            {"role": "developer", "content": [{"type": "text", "text": "s2"}]},
            {"role": "user", "content": "b"},
        ]
    )
    assert out == [{"role": "system", "content": "s1\n\ns2"}, {"role": "user", "content": "a\n\nb"}]


def test_tool_turns_fold_into_alternation() -> None:
    out = normalise_gemma3_messages(
        [
            {"role": "user", "content": "look it up"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "1", "type": "function", "function": {"name": "search", "arguments": '{"q":"R51"}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "1", "content": "R51.9"},
            {"role": "tool", "tool_call_id": "2", "content": "G43.109"},
        ]
    )
    assert [m["role"] for m in out] == ["user", "assistant", "user"]
    assert "search" in out[1]["content"] and "R51" in out[1]["content"]
    assert "R51.9" in out[2]["content"] and "G43.109" in out[2]["content"]


def test_mixed_text_and_parts_merge_as_parts() -> None:
    out = normalise_gemma3_messages(
        [
            {"role": "user", "content": "a"},
            {"role": "user", "content": [{"type": "text", "text": "b"}]},
        ]
    )
    assert out == [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "system", "content": "only system"}],
        [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "x"}],
    ],
)
def test_unfixable_lists_get_a_clear_400(messages: list[dict]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        normalise_gemma3_messages(messages)
    assert caught.value.status == 400 and caught.value.param == "messages"
