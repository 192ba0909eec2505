"""Cancel work when the HTTP client hangs up (non-streaming requests and the wait for the
backend's first byte; Starlette itself watches during streaming), and the one 499 reply."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.responses import Response
from starlette.types import Receive

from serving.gateway.record import RequestRecord

T = TypeVar("T")

# nginx's "client closed request": nobody reads it, but the access log and metrics do.
CLIENT_CLOSED_REQUEST = 499


class ClientDisconnected(Exception):
    """The client hung up before the work finished; the work was cancelled."""


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def cancel_on_disconnect(receive: Receive, work: Awaitable[T]) -> T:
    """Run work unless the client hangs up first; then cancel it (closing the backend request,
    so vLLM aborts it). Only call once the request body has been read."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # we were cancelled ourselves (shutdown): take the work with us
        task.cancel()
        raise
    finally:
        watcher.cancel()
    if task.done():
        return task.result()
    task.cancel()
    task.add_done_callback(_discard_late_result)
    raise ClientDisconnected


def _discard_late_result(task: asyncio.Future[Any]) -> None:
    """The cancel can come too late (the work had just finished: asyncio then keeps its result):
    a response nobody will send still holds a backend stream; its background task closes it."""
    if task.cancelled() or task.exception() is not None:
        return
    background = getattr(task.result(), "background", None)
    if background is not None:
        closing = asyncio.ensure_future(background())
        _CLOSING.add(closing)  # held until done: a task nobody references may be collected midway
        closing.add_done_callback(_CLOSING.discard)


_CLOSING: set[asyncio.Future[Any]] = set()


async def unless_disconnected(receive: Receive, record: RequestRecord, work: Awaitable[Response]) -> Response:
    """The work's response, or 499 (recorded on the request) when the client hung up first."""
    try:
        return await cancel_on_disconnect(receive, work)
    except ClientDisconnected:
        record.outcome = "client_disconnected"
        return Response(status_code=CLIENT_CLOSED_REQUEST)
