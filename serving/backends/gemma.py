"""Reshape any OpenAI message list into one Gemma 3's chat template accepts.

Gemma 3's template has no system, developer or tool role and raises unless turns strictly
alternate user/assistant starting with user. We fold system/developer text into one leading
system message (the template prepends it to the first user turn), fold tool results into
user turns and tool calls into assistant text, and merge runs of the same role.

The Responses API's `input` items get the same treatment (normalise_gemma3_input): function
calls and their outputs become text turns, reasoning items are left out.
"""

from __future__ import annotations

from typing import Any

import orjson

from serving.errors import InvalidRequest

Content = str | list[dict[str, Any]]


_TEXT_PARTS = ("text", "input_text", "output_text")


def _as_parts(content: Content, text_part: str) -> list[dict[str, Any]]:
    return [{"type": text_part, "text": content}] if isinstance(content, str) else list(content)


def _merge(first: Content, second: Content, text_part: str = "text") -> Content:
    if isinstance(first, str) and isinstance(second, str):
        return f"{first}\n\n{second}" if first and second else first or second
    return _as_parts(first, text_part) + _as_parts(second, text_part)


def _text(content: Content | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(str(part.get("text", "")) for part in content if part.get("type") in _TEXT_PARTS)


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


def normalise_gemma3_messages(messages: list[dict[str, Any]], text_part: str = "text") -> list[dict[str, Any]]:
    """text_part: the type of the text parts made when text joins a list of parts."""
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
            turns[-1]["content"] = _merge(turns[-1]["content"], content, text_part)
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


def _input_content(value: Any, param: str) -> Content:
    """Text, or a list of content parts (objects): anything else is the client's 400."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, dict) for part in value):
        return value
    raise InvalidRequest(
        "Content must be a string or a list of content parts (objects).", param=param, code="invalid_value"
    )


def _input_as_message(item: dict[str, Any], param: str) -> dict[str, Any] | None:
    """One Responses input item as a chat message (None: an item the model need not see)."""
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role", "user")
        if role not in ("system", "developer", "user", "assistant"):
            raise InvalidRequest(f"Unknown role {role!r}.", param=f"{param}.role", code="invalid_value")
        return {"role": role, "content": _input_content(item.get("content") or "", f"{param}.content")}
    if kind == "function_call":
        name, arguments = item.get("name", "tool"), item.get("arguments", "")
        if not isinstance(name, str) or not isinstance(arguments, str):
            raise InvalidRequest("A function call's name and arguments are strings.", param=param, code="invalid_value")
        call = {"function": {"name": name, "arguments": arguments}}
        return {"role": "assistant", "content": "", "tool_calls": [call]}
    if kind == "function_call_output":
        output = _input_content(item.get("output") if item.get("output") is not None else "", f"{param}.output")
        return {"role": "tool", "tool_call_id": item.get("call_id"), "content": output}
    if kind == "reasoning":
        return None
    raise InvalidRequest(
        f"Input items of type `{kind}` are not supported on this model.", param=param, code="unsupported_value"
    )


def normalise_gemma3_input(items: Any, instructions: str | None) -> dict[str, Any]:
    """A Responses request's `input` (and `instructions`) as Gemma 3's template takes them."""
    if not isinstance(items, list):
        return {"input": items, **({"instructions": instructions} if instructions else {})}
    messages = [{"role": "system", "content": instructions}] if instructions else []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidRequest("Input items are objects.", param=f"input[{index}]", code="invalid_value")
        message = _input_as_message(item, f"input[{index}]")
        if message is not None:
            messages.append(message)
    return {"input": normalise_gemma3_messages(messages, text_part="input_text")}
