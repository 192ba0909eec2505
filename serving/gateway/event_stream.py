"""The one writer that sends an event stream to a client (EventStream): the relayed stream of
a generation request, a consultation's events, a cached answer's replay. Events are framed by
serving/sse.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
_RAW_HEADERS = [
    *((name.encode(), value.encode()) for name, value in HEADERS.items()),
    (b"content-type", b"text/event-stream; charset=utf-8"),
]


class EventStream(Response):
    """An event stream as an ASGI response: each chunk is sent as it comes, nothing buffered.

    Hand-written rather than Starlette's StreamingResponse on purpose: this is the hot path
    (every token of every stream passes here), and it needs no more than this: send the chunk,
    and stop when the client hangs up. A hang-up (http.disconnect) cancels the stream, which
    closes the backend request with it (vLLM aborts it); `background` runs after the stream
    either way."""

    media_type = "text/event-stream"

    def __init__(self, events: AsyncIterable[bytes], *, background: BackgroundTask | None = None) -> None:
        # Response's own __init__ renders a body; a stream has none. What Starlette and FastAPI
        # read of a response is set here: its status, headers and background task.
        self.status_code = 200
        self.background = background
        self.raw_headers = list(_RAW_HEADERS)
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.send_to(receive, start=send, body=send)

    async def send_to(self, receive: Receive, *, start: Send, body: Send) -> None:
        """The response's start through `start` (a wrapper that adds headers and notes the
        status), its events straight through `body` (the server's send: no wrapper per token)."""
        sending = asyncio.ensure_future(self._send_all(start, body))
        watching = asyncio.ensure_future(_hung_up(receive))
        try:
            try:
                await asyncio.wait((sending, watching), return_when=asyncio.FIRST_COMPLETED)
            finally:  # the client hung up first, or we were cancelled ourselves (shutdown)
                watching.cancel()
                if not sending.done():
                    sending.cancel()
                    await asyncio.wait((sending,))  # never raises its outcome; our own cancel still does
        finally:
            if self.background is not None:
                await self.background()
        if watching.done() and not watching.cancelled() and (failure := watching.exception()) is not None:
            raise failure  # receive() itself failed: not a hang-up
        if not sending.cancelled():
            sending.result()  # a failure of the stream itself is raised, as any handler's would be

    async def _send_all(self, start: Send, send: Send) -> None:
        await start({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        async for chunk in self._events:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _hung_up(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def response(events: AsyncIterable[bytes], *, background: BackgroundTask | None = None) -> EventStream:
    return EventStream(events, background=background)
