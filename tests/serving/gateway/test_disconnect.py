"""A hang-up that comes just as the work finishes: asyncio keeps the work's result, and the
response nobody will send must still release what it holds (its background task runs)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.background import BackgroundTask
from starlette.responses import Response

from serving.gateway.disconnect import ClientDisconnected, cancel_on_disconnect


async def test_a_result_that_arrives_after_the_hang_up_is_closed() -> None:
    closed = asyncio.Event()

    async def close() -> None:
        closed.set()

    async def work() -> Response:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            # As asyncio.wait_for does in Python 3.11 when its inner future had just finished:
            # the cancel is swallowed and the result returned.
            return Response(b"late", background=BackgroundTask(close))
        return Response(b"never")

    messages = iter([{"type": "http.disconnect"}])

    async def receive() -> dict[str, str]:
        await asyncio.sleep(0.01)
        return next(messages)

    with pytest.raises(ClientDisconnected):
        await cancel_on_disconnect(receive, work())  # type: ignore[arg-type]
    await asyncio.wait_for(closed.wait(), 2)
