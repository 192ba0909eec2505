"""Server-sent events as the OpenAI API frames them: `data: <json>` events, ended by
`data: [DONE]` (the Responses API's are typed: `event: <type>`), and reading a backend's
events (events_in, split_events, data_of). The backend relay forwards a backend's events as
they are; everything else is framed and read here. The one writer that sends an event stream
to a client is serving/gateway/event_stream.py."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import Any

import orjson

from serving.errors import APIError

EVENT_END = b"\n\n"  # the blank line that ends an event (a backend's \r\n is normalised first)
DONE = b"data: [DONE]" + EVENT_END


def event(payload: Any) -> bytes:
    return b"data: " + orjson.dumps(payload) + EVENT_END


def typed_event(kind: str, payload: Any) -> bytes:
    """A Responses API event: its type on an `event:` line, then its data."""
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + EVENT_END


def events_in(complete: bytes) -> Iterator[bytes]:
    """The events of complete SSE text, each without its blank line."""
    return (event for event in complete.split(EVENT_END) if event)


def split_events(pending: bytes) -> tuple[list[bytes], bytes]:
    """The complete events at the front of `pending`, and the partial one after them."""
    *complete, rest = pending.split(EVENT_END)
    return [event for event in complete if event], rest


def data_of(event: bytes) -> bytes:
    """An event's data field: its `data:` lines joined with newlines (the SSE spec), each one's
    leading space dropped. b"[DONE]" for the end of a chat stream; b"" for a comment."""
    return b"\n".join(line[5:].removeprefix(b" ") for line in event.split(b"\n") if line.startswith(b"data:")).strip()


def comment(text: str) -> bytes:
    """A comment line: progress for readers of the raw stream, ignored by SDKs."""
    return f": {text}\n\n".encode()


def error_event(error: APIError) -> bytes:
    """The events that end a stream that failed after it started; the openai SDK raises on it."""
    return event(error.envelope()) + DONE


async def json_events(payloads: AsyncIterable[Any]) -> AsyncIterator[bytes]:
    """Each payload as one event, then [DONE]."""
    async for payload in payloads:
        yield event(payload)
    yield DONE
