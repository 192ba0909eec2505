"""The façade app called in-process over ASGI, as uvicorn calls it, with the response body
handed over as the app sends it.

Hand-written, ~100 lines, rather than taken from a library: httpx's ASGITransport holds the
whole body until the app returns (no streaming), and asgi-lifespan gives every request the same
lifespan state dict, where uvicorn gives each a copy and our middleware keeps per-request
context in it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.types import ASGIApp, Message

from serving.errors import error_envelope
from serving.serverless.jobs import AppRequest

log = logging.getLogger(__name__)

SERVER_ERROR = error_envelope("The server had an error while processing your request.", "server_error")
_ASGI = {"version": "3.0", "spec_version": "2.3"}  # 2.3: a client that leaves is told through receive()


class AppResponse:
    """Status and headers once the app has started its response; the body as it comes."""

    def __init__(self, start: Message, messages: asyncio.Queue[Message | None]) -> None:
        self.status: int = start["status"]
        self.headers = {bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in start["headers"]}
        self._messages = messages
        self.complete = False

    @property
    def is_event_stream(self) -> bool:
        return self.headers.get("content-type", "").startswith("text/event-stream")

    async def batches(self) -> AsyncIterator[bytes]:
        """The body in pieces: each waits for at least one chunk, then takes every chunk already
        sent, so a slow reader gets fewer, larger pieces instead of falling behind."""
        while not self.complete:
            parts = [await self._next()]
            while not self.complete and not self._messages.empty():
                parts.append(await self._next())
            piece = b"".join(parts)
            if piece:
                yield piece

    async def read(self) -> bytes:
        return b"".join([piece async for piece in self.batches()])

    async def _next(self) -> bytes:
        message = await self._messages.get()
        if message is None or not message.get("more_body", False):
            self.complete = True
        return b"" if message is None else bytes(message.get("body", b""))


class InProcessApp:
    def __init__(self, app: ASGIApp, *, shutdown_timeout: float = 30.0) -> None:
        self._app = app
        self._shutdown_timeout = shutdown_timeout
        self._state: dict[str, Any] = {}
        self._started: asyncio.Future[None] | None = None
        self._lifespan: asyncio.Task[None] | None = None
        self._lifespan_inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._requests: set[asyncio.Task[None]] = set()  # the loop holds tasks weakly

    async def start(self) -> None:
        """The app's lifespan startup, once (later calls wait for the first); it raises if the
        startup failed."""
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            self._lifespan_inbox.put_nowait({"type": "lifespan.startup"})
            self._lifespan = asyncio.create_task(self._run_lifespan(self._started))
        await asyncio.shield(self._started)

    async def stop(self) -> None:
        """The lifespan shutdown: requests settled, audit records written, pools closed."""
        task, self._lifespan = self._lifespan, None
        if task is None:
            return
        self._lifespan_inbox.put_nowait({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(task, self._shutdown_timeout)
        except TimeoutError:
            log.warning("the app's shutdown did not finish in time", extra={"seconds": self._shutdown_timeout})

    async def _run_lifespan(self, started: asyncio.Future[None]) -> None:
        async def send(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                started.set_result(None)
            elif message["type"] == "lifespan.startup.failed" and not started.done():
                started.set_exception(RuntimeError(f"the app did not start: {message.get('message', '')}"))

        async def receive() -> Message:
            try:
                return await self._lifespan_inbox.get()
            except asyncio.CancelledError:
                # The loop is ending (the runpod SDK's asyncio.run returns after SIGTERM and
                # cancels what is left): shut the app down as uvicorn would, not half-way.
                return {"type": "lifespan.shutdown"}

        scope = {"type": "lifespan", "asgi": _ASGI, "state": self._state}
        try:
            await self._app(scope, receive, send)
        except Exception as exc:  # Starlette re-raises after lifespan.startup.failed
            if not started.done():
                started.set_exception(exc)
            else:
                log.exception("the app's lifespan failed")

    @asynccontextmanager
    async def request(self, request: AppRequest) -> AsyncIterator[AppResponse]:
        """The app's response to one request. Leaving the block before the body has all come is
        a client that hung up: the app is told (http.disconnect), cancels its upstream request
        and records the usage so far, as it does for a closed HTTP connection."""
        await self.start()
        messages: asyncio.Queue[Message | None] = asyncio.Queue()
        hung_up = asyncio.Event()
        body_given = False

        async def receive() -> Message:
            nonlocal body_given
            if not body_given:
                body_given = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await hung_up.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if not hung_up.is_set():  # uvicorn drops what is sent after the client left
                messages.put_nowait(message)

        scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": "1.1",
            "method": request.method,
            "scheme": "http",
            "path": request.path,
            "raw_path": request.path.encode(),
            "query_string": request.query,
            "root_path": "",
            "headers": list(request.headers),
            "client": None,
            "server": None,
            "state": dict(self._state),
        }
        task = asyncio.create_task(self._call(scope, receive, send, messages))
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)
        response: AppResponse | None = None

        def reader_gone(_: object) -> None:
            # The reading task ended without leaving this block: the runpod SDK cancels a
            # stopped job while it posts an output, outside the generator, which nobody closes.
            hung_up.set()

        reader = asyncio.current_task()
        if reader is not None:
            reader.add_done_callback(reader_gone)
        try:
            start = await messages.get()
            if start is None:  # the app ended without answering
                start = {"type": "http.response.start", "status": 500, "headers": []}
                messages.put_nowait(None)
            response = AppResponse(start, messages)
            yield response
        finally:
            if reader is not None:
                reader.remove_done_callback(reader_gone)
            if not task.done() and not (response is not None and response.complete):
                hung_up.set()
            # The app settles the request (usage, audit) before its task ends: wait for it, but
            # not forever; past the wait it goes on by itself (held in self._requests).
            done, _ = await asyncio.wait({task}, timeout=self._shutdown_timeout)
            if not done:
                log.warning("a request is still settling", extra={"seconds": self._shutdown_timeout})

    async def _call(
        self, scope: dict[str, Any], receive: Any, send: Any, messages: asyncio.Queue[Message | None]
    ) -> None:
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, tracked_send)
        except Exception as exc:  # never a traceback to the caller
            # The app's own handler has logged and answered what it could (Starlette re-raises
            # after it); only an error before any answer is ours to log and answer.
            if not started:
                log.error("unhandled error in an in-process request", extra={"error_type": type(exc).__name__})
                headers = [(b"content-type", b"application/json")]
                messages.put_nowait({"type": "http.response.start", "status": 500, "headers": headers})
                messages.put_nowait({"type": "http.response.body", "body": orjson.dumps(SERVER_ERROR)})
        finally:
            messages.put_nowait(None)
