"""Reshape any OpenAI message list into one Gemma 3's chat template accepts.

Gemma 3's template has no system, developer or tool role and raises unless turns strictly
alternate user/assistant starting with user. We fold system/developer text into one leading
system message (the template prepends it to the first user turn), fold tool results into
user turns and tool calls into assistant text, and merge runs of the same role.
"""

from __future__ import annotations

from typing import Any

import orjson

from serving.errors import InvalidRequest

Content = str | list[dict[str, Any]]


def _as_parts(content: Content) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _merge(first: Content, second: Content) -> Content:
    if isinstance(first, str) and isinstance(second, str):
        return f"{first}\n\n{second}" if first and second else first or second
    return _as_parts(first) + _as_parts(second)


def _text(content: Content | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(str(part.get("text", "")) for part in content if part.get("type") == "text")


def _tool_result(message: dict[str, Any]) -> str:
    label = message.get("name") or message.get("tool_call_id") or "tool"
    return f"[Result of {label}]\n{_text(message.get('content'))}"


def _assistant_content(message: dict[str, Any]) -> Content:
    content: Content = message.get("content") or ""
    calls = message.get("tool_calls") or []
    if calls:
        rendered = "\n".join(
            f"[Called {call.get('function', {}).get('name', 'tool')} with "
            f"{orjson.dumps(call.get('function', {}).get('arguments', '')).decode()}]"
            for call in calls
        )
        content = _merge(content, rendered)
    return content


def normalise_gemma3_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        content: Content
        if role in ("system", "developer"):
            text = _text(message.get("content"))
            if text:
                system.append(text)
            continue
        if role in ("tool", "function"):
            role, content = "user", _tool_result(message)
        elif role == "assistant":
            content = _assistant_content(message)
        else:
            content = message.get("content") or ""
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] = _merge(turns[-1]["content"], content)
        else:
            turns.append({"role": role, "content": content})
    if not turns or turns[0]["role"] != "user":
        raise InvalidRequest(
            "This model (Gemma 3) needs the conversation to start with a user message after any system messages.",
            param="messages",
            code="invalid_message_order",
        )
    if system:
        return [{"role": "system", "content": "\n\n".join(system)}, *turns]
    return turns
