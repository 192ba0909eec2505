"""The simulator's Responses API (POST /v1/responses): the response document and the event
stream OpenAI and vLLM send, in the same order and with the same fields the openai SDK reads.

    response.created, response.in_progress, response.output_item.added,
    response.content_part.added, response.output_text.delta x N, response.output_text.done,
    response.content_part.done, response.output_item.done, response.completed (with usage)

A function call (echo_as_tool_call) streams response.function_call_arguments.delta/.done.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson


def input_text(body: dict[str, Any]) -> str:
    """The last user text of `input` (a string, or the last user message's text parts)."""
    items = body.get("input")
    if isinstance(items, str):
        return items
    for item in reversed(items if isinstance(items, list) else []):
        if isinstance(item, dict) and item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def usage(body: dict[str, Any], output_tokens: int) -> dict[str, Any]:
    prompt = len(orjson.dumps(body.get("input") or "")) // 4
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + output_tokens,
    }


def message_item(response_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    content = [part] if status == "completed" else []
    return {"id": f"msg_{response_id}", "type": "message", "role": "assistant", "status": status, "content": content}


def call_item(response_id: str, arguments: str, status: str = "completed") -> dict[str, Any]:
    return {
        "id": f"fc_{response_id}",
        "type": "function_call",
        "call_id": "call_1",
        "name": "echo",
        "arguments": arguments,
        "status": status,
    }


def response(
    body: dict[str, Any], response_id: str, model: str, output: list[dict[str, Any]], status: str, **extra: Any
) -> dict[str, Any]:
    return {
        "id": f"resp_{response_id}",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []),
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "max_output_tokens": body.get("max_output_tokens"),
        "store": body.get("store", False),
        "usage": None,
        **extra,
    }


def event(kind: str, sequence: int, **fields: Any) -> bytes:
    payload = {"type": kind, "sequence_number": sequence, **fields}
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


class EventStream:
    """The events of one streamed response, built piece by piece as the text is generated."""

    def __init__(self, body: dict[str, Any], response_id: str, model: str, *, as_call: bool) -> None:
        self._body = body
        self._id = response_id
        self._model = model
        self._as_call = as_call
        self._sequence = 0
        self.text = ""

    def _next(self, kind: str, **fields: Any) -> bytes:
        data = event(kind, self._sequence, **fields)
        self._sequence += 1
        return data

    def opening(self) -> Iterator[bytes]:
        shell = response(self._body, self._id, self._model, [], "in_progress")
        yield self._next("response.created", response=shell)
        yield self._next("response.in_progress", response=shell)
        item = call_item(self._id, "", "in_progress") if self._as_call else message_item(self._id, "", "in_progress")
        yield self._next("response.output_item.added", output_index=0, item=item)
        if not self._as_call:
            part = {"type": "output_text", "text": "", "annotations": []}
            yield self._next("response.content_part.added", **self._text_at(), part=part)

    def delta(self, piece: str) -> bytes:
        self.text += piece
        if self._as_call:
            return self._next("response.function_call_arguments.delta", **self._call_at(), delta=piece)
        return self._next("response.output_text.delta", **self._text_at(), delta=piece, logprobs=[])

    def _text_at(self) -> dict[str, Any]:
        return {"item_id": f"msg_{self._id}", "output_index": 0, "content_index": 0}

    def _call_at(self) -> dict[str, Any]:
        return {"item_id": f"fc_{self._id}", "output_index": 0}

    def closing(self, output_tokens: int) -> Iterator[bytes]:
        if self._as_call:
            item = call_item(self._id, self.text)
            yield self._next("response.function_call_arguments.done", **self._call_at(), arguments=self.text)
        else:
            item = message_item(self._id, self.text)
            yield self._next("response.output_text.done", **self._text_at(), text=self.text, logprobs=[])
            yield self._next("response.content_part.done", **self._text_at(), part=item["content"][0])
        yield self._next("response.output_item.done", output_index=0, item=item)
        done = response(self._body, self._id, self._model, [item], "completed", usage=usage(self._body, output_tokens))
        yield self._next("response.completed", response=done)


def document(
    body: dict[str, Any], response_id: str, model: str, text: str, *, as_call: bool, output_tokens: int
) -> bytes:
    item = call_item(response_id, text) if as_call else message_item(response_id, text)
    return orjson.dumps(response(body, response_id, model, [item], "completed", usage=usage(body, output_tokens)))
