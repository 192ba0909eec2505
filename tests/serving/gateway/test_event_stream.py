"""The one writer of an event stream to a client (serving/gateway/event_stream.py): every event
sent, the background run whatever happens, hang-ups and failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.background import BackgroundTask

from serving import sse
from serving.gateway.event_stream import EventStream


class Client:
    """An ASGI client: takes what is sent; hangs up after `hang_up_after` seconds, if set."""

    def __init__(self, hang_up_after: float | None = None, receive_fails: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self._hang_up_after = hang_up_after
        self._receive_fails = receive_fails

    async def receive(self) -> dict[str, Any]:
        if self._receive_fails:
            raise RuntimeError("the server's receive failed")
        if self._hang_up_after is None:
            await asyncio.sleep(3600)
        await asyncio.sleep(self._hang_up_after or 0)
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


def streamed(events: AsyncIterator[bytes], ran: list[str]) -> EventStream:
    async def background() -> None:
        ran.append("background")

    return EventStream(events, background=BackgroundTask(background))


async def test_the_event_stream_sends_every_event_then_ends_and_runs_its_background() -> None:
    async def events() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        yield sse.DONE

    ran: list[str] = []
    client = Client()
    await streamed(events(), ran)({}, client.receive, client.send)  # type: ignore[arg-type]
    assert client.sent[0]["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in client.sent[0]["headers"]
    assert [m.get("body") for m in client.sent[1:]] == [b"data: 1\n\n", sse.DONE, b""]
    assert ran == ["background"]


async def test_a_hang_up_cancels_the_stream_and_the_background_still_runs() -> None:
    closed: list[str] = []

    async def endless() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"data: x\n\n"
                await asyncio.sleep(0.01)
        finally:
            closed.append("events closed")  # the backend request goes with it

    ran: list[str] = []
    client = Client(hang_up_after=0.05)
    await asyncio.wait_for(streamed(endless(), ran)({}, client.receive, client.send), 2)  # type: ignore[arg-type]
    assert closed == ["events closed"] and ran == ["background"]
    assert client.sent[-1].get("more_body") is True  # never ended as if it were complete


async def test_a_failing_stream_or_receive_is_raised_after_the_background() -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"
        raise ValueError("the stream failed")

    ran: list[str] = []
    client = Client()
    with pytest.raises(ValueError, match="the stream failed"):
        await streamed(failing(), ran)({}, client.receive, client.send)  # type: ignore[arg-type]
    assert ran == ["background"]

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"data: x\n\n"
            await asyncio.sleep(0.01)

    ran.clear()
    broken = Client(receive_fails=True)
    with pytest.raises(RuntimeError, match="receive failed"):
        await streamed(endless(), ran)({}, broken.receive, broken.send)  # type: ignore[arg-type]
    assert ran == ["background"]


async def test_our_own_cancellation_goes_through_after_the_background() -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"data: x\n\n"
            await asyncio.sleep(0.01)

    ran: list[str] = []
    client = Client()
    task = asyncio.ensure_future(streamed(endless(), ran)({}, client.receive, client.send))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ran == ["background"]
