"""The in-process ASGI call: the lifespan run once, the body as it is sent, a reader that leaves
told to the app as a disconnect, each request's own state, and never a traceback for an answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from serving.serverless.in_process import InProcessApp
from serving.serverless.jobs import AppRequest


def get(path: str) -> AppRequest:
    return AppRequest("GET", path, b"", b"", (), openai_route=False)


async def bare_lifespan(receive: Receive, send: Send) -> None:
    """The lifespan protocol of an app with nothing to start."""
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()
    await send({"type": "lifespan.shutdown.complete"})


def app_with(routes: list[Route], lifespan: Any = None) -> Starlette:
    return Starlette(routes=routes, lifespan=lifespan)


async def test_the_lifespan_runs_once_and_shuts_down() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    async def hello(request: Request) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    app = InProcessApp(app_with([Route("/v1/hello", hello)], lifespan))
    await asyncio.gather(app.start(), app.start())
    async with app.request(get("/v1/hello")) as response:
        assert response.status == 200 and orjson.loads(await response.read()) == {"hello": "world"}
    await app.stop()
    await app.stop()
    assert events == ["startup", "shutdown"]


async def test_a_loop_that_ends_shuts_the_app_down_rather_than_cutting_it() -> None:
    """The runpod SDK's asyncio.run cancels what is left when it returns (after SIGTERM)."""
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        await asyncio.sleep(0.01)  # shutdown work that awaits (settlements, audit, pools)
        events.append("shutdown")

    app = InProcessApp(app_with([], lifespan))
    await app.start()
    assert app._lifespan is not None
    app._lifespan.cancel()
    await asyncio.wait({app._lifespan})
    assert events == ["startup", "shutdown"]


async def test_a_failed_startup_is_raised() -> None:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no store")
        yield

    app = InProcessApp(app_with([], lifespan))
    with pytest.raises(RuntimeError, match="no store"):
        await app.start()


async def test_an_unhandled_error_is_a_500_envelope_not_a_traceback() -> None:
    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await bare_lifespan(receive, send)
            return
        raise ValueError("broken")

    app = InProcessApp(raw_app)
    async with app.request(get("/v1/x")) as response:
        body = orjson.loads(await response.read())
    assert response.status == 500 and body["error"]["type"] == "server_error"
    assert "broken" not in body["error"]["message"]


async def test_an_app_that_never_answers_is_a_500() -> None:
    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await bare_lifespan(receive, send)

    app = InProcessApp(silent)
    async with app.request(get("/v1/x")) as response:
        assert response.status == 500
        assert await response.read() == b""


async def test_the_body_comes_as_sent_and_a_reader_that_leaves_is_a_disconnect() -> None:
    release = asyncio.Event()
    seen: list[str] = []

    async def ticks(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"data: 1\n\n"
            await release.wait()
            yield b"data: 2\n\n"

        return StreamingResponse(body(), media_type="text/event-stream")

    async def watch(scope: Scope, receive: Receive, send: Send) -> None:
        async def noting_receive() -> Message:
            message = await receive()
            seen.append(message["type"])
            return message

        await starlette_app(scope, noting_receive, send)

    starlette_app = app_with([Route("/v1/ticks", ticks)])
    app = InProcessApp(watch)
    async with app.request(get("/v1/ticks")) as response:
        assert response.is_event_stream
        first = await anext(response.batches())  # before the app has finished the body
        assert first == b"data: 1\n\n"
    assert "http.disconnect" in seen  # leaving early told the app, which stopped streaming
    async with app.request(get("/v1/ticks")) as response:
        release.set()
        assert await response.read() == b"data: 1\n\ndata: 2\n\n"
    await app.stop()


async def test_each_request_has_its_own_state() -> None:
    async def remember(request: Request) -> JSONResponse:
        before = dict(request.scope["state"])
        request.scope["state"]["mine"] = request.query_params["n"]
        await asyncio.sleep(0.01)
        return JSONResponse({"before": before, "mine": request.scope["state"]["mine"]})

    app = InProcessApp(app_with([Route("/v1/remember", remember)]))

    async def ask(n: int) -> dict[str, Any]:
        request = AppRequest("GET", "/v1/remember", f"n={n}".encode(), b"", (), openai_route=False)
        async with app.request(request) as response:
            answer: dict[str, Any] = orjson.loads(await response.read())
            return answer

    answers = await asyncio.gather(*(ask(n) for n in range(5)))
    assert [a["mine"] for a in answers] == ["0", "1", "2", "3", "4"]
    assert all(a["before"] == {} for a in answers)
    await app.stop()
