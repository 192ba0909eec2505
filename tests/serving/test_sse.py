"""SSE framing as the OpenAI API writes it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from serving import sse
from serving.errors import BackendFailed


def test_events_are_data_lines_ended_by_a_blank_line() -> None:
    assert sse.event({"a": 1}) == b'data: {"a":1}\n\n'
    assert sse.comment("stage intake completed") == b": stage intake completed\n\n"


def test_error_event_ends_the_stream() -> None:
    event = sse.error_event(BackendFailed("broke"))
    first, done = event.split(b"\n\n")[:2]
    assert orjson.loads(first.removeprefix(b"data: "))["error"]["type"] == "server_error"
    assert done == b"data: [DONE]"


async def test_json_events_end_with_done() -> None:
    async def payloads() -> AsyncIterator[dict[str, int]]:
        for n in range(2):
            yield {"n": n}

    frames = [frame async for frame in sse.json_events(payloads())]
    assert frames == [b'data: {"n":0}\n\n', b'data: {"n":1}\n\n', sse.DONE]


def test_reading_events_as_the_sse_spec_does() -> None:
    """The one reader of a backend's events (the relay, the restorers, the serverless handler)."""
    complete, partial = sse.split_events(
        b'data: {"a":1}\n\n: keep-alive\n\nevent: x\ndata: {"b":\ndata: 2}\n\ndata: {"c"'
    )
    assert partial == b'data: {"c"'
    assert [sse.data_of(event) for event in complete] == [b'{"a":1}', b"", b'{"b":\n2}']
    assert list(sse.events_in(b"data: [DONE]\n\n\n\n")) == [b"data: [DONE]"]
    assert sse.data_of(b"data:[DONE]") == b"[DONE]"  # the space after the colon is optional
    typed = sse.typed_event("response.completed", {"type": "response.completed"})
    assert typed == b'event: response.completed\ndata: {"type":"response.completed"}\n\n'
    assert sse.data_of(next(sse.events_in(typed))) == b'{"type":"response.completed"}'
