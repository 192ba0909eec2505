"""StreamRelay over a real aiohttp response whose events arrive split at awkward places."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest
from aiohttp import web

from serving.backends.relay import StreamRelay

ROLE = b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
TOKEN = b'data: {"choices":[{"index":0,"delta":{"content":"tok \\"usage\\": {x}"}}]}\n\n'
USAGE = b'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}\n\n'
DONE = b"data: [DONE]\n\n"


async def serve(pieces: list[bytes], *, break_off: bool = False) -> tuple[web.AppRunner, str]:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
            await asyncio.sleep(0.005)
        if break_off:
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/"


async def relay_all(
    pieces: list[bytes], *, forward_usage: bool, break_off: bool = False, strip_null_usage: bool = False
) -> tuple[bytes, StreamRelay]:
    runner, url = await serve(pieces, break_off=break_off)
    finished: list[StreamRelay] = []
    try:
        async with aiohttp.ClientSession() as session:
            response = await session.get(url)
            relay = StreamRelay(
                response,
                backend="b",
                started=0.0,
                forward_usage=forward_usage,
                on_finish=finished.append,
                strip_null_usage=strip_null_usage,
            )
            out = b"".join([chunk async for chunk in relay.stream()])
    finally:
        await runner.cleanup()
    assert finished == [relay]
    return out, relay


def split_awkwardly(data: bytes) -> list[bytes]:
    return [data[i : i + 7] for i in range(0, len(data), 7)]


@pytest.mark.parametrize("pieces", [[ROLE, TOKEN * 3, USAGE, DONE], split_awkwardly(ROLE + TOKEN * 3 + USAGE + DONE)])
async def test_usage_read_and_stripped_when_not_asked(pieces: list[bytes]) -> None:
    out, relay = await relay_all(pieces, forward_usage=False)
    assert out == ROLE + TOKEN * 3 + DONE
    assert relay.usage == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert relay.completed and not relay.failed
    assert relay.events == 4  # role + 3 tokens; the stripped usage event is not counted


async def test_usage_forwarded_when_asked() -> None:
    out, relay = await relay_all([ROLE, TOKEN, USAGE, DONE], forward_usage=True)
    assert out == ROLE + TOKEN + USAGE + DONE
    assert relay.usage is not None and relay.usage["completion_tokens"] == 3


async def test_broken_upstream_ends_with_error_event() -> None:
    out, relay = await relay_all([ROLE, TOKEN, b'data: {"choi'], forward_usage=False, break_off=True)
    assert out.startswith(ROLE + TOKEN)
    tail = out[len(ROLE + TOKEN) :]
    error_event = tail.split(b"\n\n")[-3] if tail.endswith(DONE) else tail
    assert relay.failed and not relay.completed
    assert tail.endswith(DONE)
    assert orjson.loads(error_event.split(b"data: ")[-1])["error"]["code"] == "backend_error"


async def test_chunks_not_held_back() -> None:
    """Each complete event goes out as soon as it arrives, not batched to the end."""
    runner, url = await serve([ROLE, TOKEN, TOKEN, DONE])
    try:
        async with aiohttp.ClientSession() as session:
            response = await session.get(url)
            relay = StreamRelay(response, backend="b", started=0.0, forward_usage=False, on_finish=lambda r: None)
            chunks: AsyncIterator[bytes] = relay.stream()
            assert await chunks.__anext__() == ROLE
            assert await chunks.__anext__() == TOKEN
            await chunks.aclose()  # as on client disconnect
    finally:
        await runner.cleanup()
    assert response.closed


def framed(events: list[bytes], line_end: bytes, *, space: bool = True) -> bytes:
    """The same events with other line ends, and with or without the space after `data:`."""
    out = b""
    for event in events:
        body = event.removesuffix(b"\n\n")
        if not space:
            body = body.replace(b"data: ", b"data:", 1)
        out += body + line_end * 2
    return out


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r", b"\n"])
@pytest.mark.parametrize("space", [True, False])
async def test_every_line_end_the_sse_specification_allows(line_end: bytes, space: bool) -> None:
    stream = framed([ROLE, TOKEN, TOKEN, USAGE, DONE], line_end, space=space)
    out, relay = await relay_all(split_awkwardly(stream), forward_usage=False)
    assert relay.usage == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}, "usage read, not lost"
    assert relay.events == 3 and relay.completed and not relay.failed
    assert b"\r" not in out and b'"usage":{' not in out  # LF framing for the client; usage stripped
    assert out.endswith(b"data: [DONE]\n\n" if space else b"data:[DONE]\n\n")


async def test_an_event_that_never_ends_is_cut_off_not_buffered() -> None:
    endless = [b'data: {"choices":[{"delta":{"content":"' + b"x" * 65536] * 20  # 1.3 MB, no blank line
    out, relay = await relay_all([ROLE, *endless], forward_usage=False)
    assert relay.failed and not relay.completed
    assert out.startswith(ROLE) and len(out) < 4096
    error = orjson.loads(out[len(ROLE) :].split(b"\n\n")[0].removeprefix(b"data: "))["error"]
    assert error["code"] == "backend_error" and "over 1048576 bytes" in error["message"]


async def test_completion_chunks_carry_no_null_usage() -> None:
    chunk = b'data: {"object":"text_completion","choices":[{"index":0,"text":" tok"}],"usage":null}\n\n'
    out, _ = await relay_all([chunk, chunk, USAGE, DONE], forward_usage=True, strip_null_usage=True)
    assert b'"usage":null' not in out and out.count(b'"text":" tok"') == 2
    assert b'"usage":{"prompt_tokens":7' in out  # the usage the client asked for still comes


async def test_a_cr_framed_event_goes_out_without_waiting_for_the_next_chunk() -> None:
    runner, url = await serve([framed([ROLE], b"\r"), framed([TOKEN], b"\r"), DONE])
    try:
        async with aiohttp.ClientSession() as session:
            response = await session.get(url)
            relay = StreamRelay(response, backend="b", started=0.0, forward_usage=False, on_finish=lambda r: None)
            chunks = relay.stream()
            assert await chunks.__anext__() == ROLE  # not held back until the token arrives
            await chunks.aclose()
    finally:
        await runner.cleanup()


async def test_a_null_usage_is_stripped_wherever_it_stands() -> None:
    first = b'data: {"usage":null,"object":"text_completion","choices":[{"text":"a"}]}\n\n'
    out, _ = await relay_all([first, DONE], forward_usage=False, strip_null_usage=True)
    assert out == b'data: {"object":"text_completion","choices":[{"text":"a"}]}\n\n' + DONE


async def test_a_slow_client_is_not_the_backends_silence() -> None:
    """The read timeout bounds the backend's silence: time the relay spends waiting for its
    client to take an event (here 3x the timeout) does not count, while a backend that goes
    silent with the client waiting is cut."""
    runner, url = await serve([ROLE, TOKEN, TOKEN, DONE])
    try:
        async with aiohttp.ClientSession() as session:
            response = await session.get(url)
            relay = StreamRelay(
                response, backend="b", started=0.0, forward_usage=False, on_finish=lambda r: None, read_timeout=0.1
            )
            events = relay.stream()
            out = [await events.__anext__()]
            await asyncio.sleep(0.3)  # the client does not read
            out.extend([chunk async for chunk in events])
    finally:
        await runner.cleanup()
    assert b"".join(out) == ROLE + TOKEN + TOKEN + DONE and relay.completed and not relay.failed

    async def stalls(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        await response.write(ROLE)
        await asyncio.sleep(1)  # silent, connection open
        return response

    app = web.Application()
    app.router.add_get("/", stalls)
    stalled = web.AppRunner(app)
    await stalled.setup()
    await web.TCPSite(stalled, "127.0.0.1", 0).start()
    try:
        async with aiohttp.ClientSession() as session:
            response = await session.get(f"http://127.0.0.1:{stalled.addresses[0][1]}/")
            relay = StreamRelay(
                response, backend="b", started=0.0, forward_usage=False, on_finish=lambda r: None, read_timeout=0.2
            )
            relayed = b"".join([chunk async for chunk in relay.stream()])
    finally:
        await stalled.cleanup()
    assert relayed.startswith(ROLE) and b'"backend_timeout"' in relayed and relay.failed
