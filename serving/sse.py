"""Server-sent events as the OpenAI API frames them: `data: <json>` events, ended by
`data: [DONE]`. The one place the façade writes SSE (the backend relay forwards bytes as-is)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import orjson
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from serving.errors import APIError

HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
DONE = b"data: [DONE]\n\n"


def event(payload: Any) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


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


def response(events: AsyncIterable[bytes], *, background: BackgroundTask | None = None) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers=HEADERS, background=background)
