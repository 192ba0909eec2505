"""Identifiers back into what a redacted request's backend answered: whole JSON documents, and
SSE streams chunk by chunk.

In a stream a placeholder may arrive split across chunks ("[NA" then "ME_1]"): each text
field of each choice holds back only a tail that could still become a placeholder (at most
LONGEST_PLACEHOLDER characters), and lets go of it as soon as it can't, or when the choice
finishes. Only redacted streams pass through here; the rest are relayed byte for byte."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from serving import sse
from serving.privacy.placeholders import LONGEST_PLACEHOLDER, could_begin_placeholder

if TYPE_CHECKING:
    from serving.privacy.redaction import Redaction

_TEXT_FIELDS = ("content", "reasoning_content", "reasoning", "refusal")


def restore_completion(payload: dict[str, Any], redaction: Redaction, *, json_content: bool) -> None:
    """Restore a chat completion or completion document in place: message content,
    reasoning, refusals, tool-call and function-call arguments, completion text."""
    for choice in payload.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        if isinstance(choice.get("text"), str):
            choice["text"] = redaction.restore(choice["text"])
        for part in ("message", "delta"):
            message = choice.get(part)
            if isinstance(message, dict):
                restore_message(message, redaction, json_content=json_content)


def restore_message(message: dict[str, Any], redaction: Redaction, *, json_content: bool) -> None:
    for field in ("content", "reasoning_content", "reasoning", "refusal"):
        if isinstance(message.get(field), str):
            message[field] = redaction.restore(message[field], json_string=json_content and field == "content")
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and isinstance(function.get("arguments"), str):
            function["arguments"] = redaction.restore(function["arguments"], json_string=True)
    function_call = message.get("function_call")
    if isinstance(function_call, dict) and isinstance(function_call.get("arguments"), str):
        function_call["arguments"] = redaction.restore(function_call["arguments"], json_string=True)


def restore_body(raw: bytes, redaction: Redaction, *, json_content: bool) -> bytes:
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
    if not isinstance(payload, dict):
        return raw
    if payload.get("object") == "response":
        restore_response(payload, redaction, json_content=json_content)
    else:
        restore_completion(payload, redaction, json_content=json_content)
    return orjson.dumps(payload)


def restore_response(payload: dict[str, Any], redaction: Redaction, *, json_content: bool) -> None:
    """Restore a Responses API document in place: output text, refusals, reasoning summaries
    and function-call arguments."""
    for item in payload.get("output") or ():
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("arguments"), str):
            item["arguments"] = redaction.restore(item["arguments"], json_string=True)
        for field in ("content", "summary"):
            for part in item.get(field) or ():
                if not isinstance(part, dict):
                    continue
                for text_field in ("text", "refusal"):
                    if isinstance(part.get(text_field), str):
                        json_string = json_content and text_field == "text" and field == "content"
                        part[text_field] = redaction.restore(part[text_field], json_string=json_string)
    if isinstance(payload.get("output_text"), str):
        payload["output_text"] = redaction.restore(payload["output_text"], json_string=json_content)


class StreamRestorer:
    """Rewrites complete SSE events of a redacted stream (the relay's hook)."""

    def __init__(self, redaction: Redaction, *, json_content: bool) -> None:
        self._redaction = redaction
        self._json_content = json_content
        self._held: dict[tuple[int, str, int], str] = {}
        self._last: dict[str, Any] | None = None  # the last chunk: the frame of a closing one

    def events(self, complete: bytes) -> bytes:
        out = []
        for event in sse.events_in(complete):
            data = sse.data_of(event)  # one data field, even when it spans several lines
            if data == b"[DONE]":
                out.append(self._closing_event())
            elif data:
                try:
                    payload = orjson.loads(data)
                except orjson.JSONDecodeError:
                    payload = None
                if isinstance(payload, dict):
                    self._restore(payload)
                    others = [line for line in event.split(b"\n") if not line.startswith(b"data:")]
                    event = b"\n".join([*others, b"data: " + orjson.dumps(payload)])
            out.append(event + sse.EVENT_END)
        return b"".join(out)

    def finish(self) -> bytes:
        """Whatever is still held when the stream ends without [DONE]."""
        return self._closing_event()

    def _restore(self, payload: dict[str, Any]) -> None:
        for choice in payload.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            index: int = choice["index"] if isinstance(choice.get("index"), int) else 0
            finished = choice.get("finish_reason") is not None
            if isinstance(choice.get("text"), str) or (finished and "delta" not in choice):
                choice["text"] = self._feed((index, "text", 0), choice.get("text") or "", finished)
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                continue
            for field in _TEXT_FIELDS:
                if isinstance(delta.get(field), str) or (finished and (index, field, 0) in self._held):
                    json_string = self._json_content and field == "content"
                    delta[field] = self._feed((index, field, 0), delta.get(field) or "", finished, json_string)
            for call in delta.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                    call_index: int = call["index"] if isinstance(call.get("index"), int) else 0
                    key = (index, "tool", call_index)
                    function["arguments"] = self._feed(key, function["arguments"], finished, True)
            if finished:
                self._release_calls(index, delta)
        self._last = payload

    def _feed(self, key: tuple[int, str, int], text: str, finished: bool, json_string: bool = False) -> str:
        buffer = self._held.pop(key, "") + text
        split = len(buffer) if finished else _safe_end(buffer)
        if split < len(buffer):
            self._held[key] = buffer[split:]
        return self._redaction.restore(buffer[:split], json_string=json_string)

    def _release_calls(self, index: int, delta: dict[str, Any]) -> None:
        """Tool-call arguments still held when their choice finishes."""
        for key in [k for k in self._held if k[0] == index and k[1] == "tool"]:
            rest = self._redaction.restore(self._held.pop(key), json_string=True)
            delta.setdefault("tool_calls", []).append({"index": key[2], "function": {"arguments": rest}})

    def _closing_event(self) -> bytes:
        if not self._held:
            return b""
        choices: dict[int, dict[str, Any]] = {}
        for (index, field, call), text in sorted(self._held.items()):
            choice = choices.setdefault(index, {"index": index, "delta": {}, "finish_reason": None})
            json_string = field == "tool" or (self._json_content and field == "content")
            restored = self._redaction.restore(text, json_string=json_string)
            if field == "text":
                choice.pop("delta")
                choice["text"] = restored
            elif field == "tool":
                choice["delta"].setdefault("tool_calls", []).append(
                    {"index": call, "function": {"arguments": restored}}
                )
            else:
                choice["delta"][field] = restored
        self._held.clear()
        frame = {k: v for k, v in (self._last or {}).items() if k in ("id", "object", "created", "model")}
        return sse.event({**frame, "choices": list(choices.values())})


class ResponseStreamRestorer:
    """Rewrites complete events of a redacted Responses API stream.

    Text arrives in `*.delta` events keyed by item and part; each key holds back a tail that
    could still become a placeholder, released by the next delta or, at the latest, as a delta
    of its own just before the key's `*.done` event (which, like every whole document in the
    stream, is restored as it is). Events are renumbered (`sequence_number`), since released
    tails add events."""

    _DELTAS: ClassVar[dict[str, str]] = {
        "response.output_text.delta": "text",
        "response.refusal.delta": "refusal",
        "response.reasoning_summary_text.delta": "summary",
        "response.reasoning_text.delta": "reasoning",
        "response.function_call_arguments.delta": "arguments",
    }
    _DONES: ClassVar[dict[str, str]] = {
        "response.output_text.done": "text",
        "response.refusal.done": "refusal",
        "response.reasoning_summary_text.done": "summary",
        "response.reasoning_text.done": "reasoning",
        "response.function_call_arguments.done": "arguments",
    }

    def __init__(self, redaction: Redaction, *, json_content: bool) -> None:
        self._redaction = redaction
        self._json_content = json_content
        self._held: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {}  # key -> (tail, its last delta event)
        self._sequence = 0

    def events(self, complete: bytes) -> bytes:
        out: list[bytes] = []
        for event in sse.events_in(complete):
            data = sse.data_of(event)
            try:
                payload = orjson.loads(data) if data else None
            except orjson.JSONDecodeError:
                payload = None
            if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
                out.append(event + sse.EVENT_END)
                continue
            for extra in self._restore(payload):
                out.append(self._frame(extra))
            out.append(self._frame(payload))
        return b"".join(out)

    def finish(self) -> bytes:
        """Tails still held when the stream ends without their done events."""
        return b"".join(self._frame(self._release(key)) for key in list(self._held))

    def _frame(self, payload: dict[str, Any]) -> bytes:
        if "sequence_number" in payload:
            payload["sequence_number"] = self._sequence
            self._sequence += 1
        kind: str = payload["type"]
        return sse.typed_event(kind, payload)

    def _key(self, payload: dict[str, Any], field: str) -> tuple[Any, ...]:
        return (payload.get("item_id"), payload.get("output_index"), payload.get("content_index"), field)

    def _json_string(self, field: str) -> bool:
        return field == "arguments" or (self._json_content and field == "text")

    def _restore(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Restores the event in place; returns events to send before it (released tails)."""
        kind = payload["type"]
        if kind in self._DELTAS and isinstance(payload.get("delta"), str):
            field = self._DELTAS[kind]
            key = self._key(payload, field)
            buffer = self._held.pop(key, ("", payload))[0] + payload["delta"]
            split = _safe_end(buffer)
            if split < len(buffer):
                self._held[key] = (buffer[split:], dict(payload))
            payload["delta"] = self._redaction.restore(buffer[:split], json_string=self._json_string(field))
            return []
        before = []
        if kind in self._DONES:
            key = self._key(payload, self._DONES[kind])
            if key in self._held:
                before.append(self._release(key))
            field = self._DONES[kind]  # reasoning's done text is prose, never the JSON answer
            for name in ("text", "refusal", "arguments"):
                if isinstance(payload.get(name), str):
                    payload[name] = self._redaction.restore(payload[name], json_string=self._json_string(field))
        for name in ("response", "item", "part"):
            document = payload.get(name)
            if isinstance(document, dict):
                self._restore_document(name, document)
        return before

    def _release(self, key: tuple[Any, ...]) -> dict[str, Any]:
        tail, last = self._held.pop(key)
        return {**last, "delta": self._redaction.restore(tail, json_string=self._json_string(key[3]))}

    def _restore_document(self, name: str, document: dict[str, Any]) -> None:
        if name == "response":
            restore_response(document, self._redaction, json_content=self._json_content)
        elif name == "item":
            restore_response({"output": [document]}, self._redaction, json_content=self._json_content)
        else:  # a content part
            restore_response({"output": [{"content": [document]}]}, self._redaction, json_content=self._json_content)


def _safe_end(buffer: str) -> int:
    """Where the text that can be let go ends: before a trailing "[..." that may still grow
    into a placeholder."""
    start = buffer.rfind("[", max(0, len(buffer) - LONGEST_PLACEHOLDER))
    if start >= 0 and could_begin_placeholder(buffer[start:]):
        return start
    return len(buffer)
