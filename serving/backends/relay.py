"""Relay a backend's SSE stream byte for byte, reading only the usage event.

Hand-written rather than an SSE library on purpose: this is the hot path, and parsing and
re-serialising every chunk costs CPU per token. Events are forwarded as soon as they are
complete (vLLM writes one event per chunk, so nothing waits); only an event carrying a
`"usage": {...}` object is parsed, and dropped when the client did not ask for it.

Framing follows the SSE specification: lines may end in LF, CRLF or CR (a backend's CRs are
turned into LFs, only when it sends any), `data:` may or may not be followed by a space, and
one event may not grow past MAX_EVENT_BYTES.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any, Protocol

import aiohttp
import orjson

from serving import sse
from serving.errors import BackendFailed, BackendTimeout

_USAGE = re.compile(rb'"usage"\s*:\s*\{')
_NULL_USAGE = re.compile(rb',\s*"usage"\s*:\s*null|(?<=\{)"usage"\s*:\s*null\s*,?')
_DONE = re.compile(rb"(?:^|\n)data: ?\[DONE\]")
# The Responses API ends with one of these events (no [DONE]); its usage is inside it.
_RESPONSE_END = re.compile(rb'"type"\s*:\s*"response\.(?:completed|incomplete)"')
# A failure reported inside a stream: chat's error event, the Responses API's error or failed response.
_ERROR_EVENT = re.compile(rb'(?:^|\n)data: ?\{"error"|"type"\s*:\s*"(?:error|response\.failed)"')
MAX_EVENT_BYTES = 1 << 20  # one event; a backend that never ends one is cut off, not buffered

_EVENT_END = sse.EVENT_END  # read per chunk on the hot path: a module constant, not an attribute


def _lf_lines(buffer: bytes) -> tuple[bytes, bytes]:
    """CRLF and CR line ends as LF; a CR at the very end waits for the next chunk (it may be
    the first half of a CRLF)."""
    held = b""
    if buffer.endswith(b"\r") and not buffer.endswith((b"\r\r", b"\n\r")):
        buffer, held = buffer[:-1], b"\r"  # after a line end it ends a line itself, whatever follows
    return buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), held


class EventRewriter(Protocol):
    """Rewrites complete events (serving/privacy/restoration.py restores identifiers)."""

    def events(self, complete: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class StreamRelay:
    """Iterates the bytes for the client; afterwards holds what the stream carried."""

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        *,
        backend: str,
        started: float,
        forward_usage: bool,
        on_finish: Callable[[StreamRelay], None],
        strip_null_usage: bool = False,
        rewriter: EventRewriter | None = None,
        responses: bool = False,
        read_timeout: float | None = None,
    ) -> None:
        self._response = response
        self._backend = backend
        self._started = started
        self._forward_usage = forward_usage
        self._strip_null_usage = strip_null_usage  # completion chunks: OpenAI's schema has no null usage
        self._on_finish = on_finish
        self._finished = False
        self._rewriter = rewriter
        self.usage: dict[str, Any] | None = None
        self.events = 0
        self.first_event_at: float | None = None
        self.last_event_at: float | None = None
        self._responses = responses  # the Responses API: typed events, no [DONE]
        self.completed = False  # the stream ended cleanly, or reached its protocol's end
        self.ended = False  # it reached its protocol's end ([DONE], response.completed/incomplete)
        self.error_event = False  # it carried an error event
        self.abandoned = False  # sent before admission, which refused it (serving/gateway/pipeline.py)
        self.failed = False
        # The longest silence allowed mid-stream: one timer a stream, re-armed from the time of
        # the last read when it fires (not on every chunk); past it the stream is cut.
        self._read_timeout = read_timeout
        self._last_read = 0.0
        self._waiting_for_client = False  # suspended at a yield: the silence is not the backend's
        self._watchdog: asyncio.TimerHandle | None = None
        self._stalled = False

    @property
    def time_to_first_event(self) -> float | None:
        return None if self.first_event_at is None else self.first_event_at - self._started

    @property
    def mean_event_gap(self) -> float | None:
        if self.first_event_at is None or self.last_event_at is None or self.events < 3:
            return None
        return (self.last_event_at - self.first_event_at) / (self.events - 1)

    async def stream(self) -> AsyncGenerator[bytes, None]:
        pending = b""
        loop = asyncio.get_running_loop()
        if self._read_timeout is not None:
            self._last_read = loop.time()
            self._watchdog = loop.call_at(self._last_read + self._read_timeout, self._watch)
        try:
            async for chunk in self._response.content.iter_any():
                self._last_read = loop.time()
                buffer = pending + chunk if pending else chunk
                held = b""
                if b"\r" in buffer:
                    buffer, held = _lf_lines(buffer)
                end = buffer.rfind(_EVENT_END)
                if end < 0:
                    pending = buffer + held
                    if len(pending) > MAX_EVENT_BYTES:
                        raise _EventTooLarge
                    continue
                end += len(_EVENT_END)
                complete, pending = buffer[:end], buffer[end:] + held
                complete = self._take(complete)
                if complete:
                    self._waiting_for_client = True
                    yield complete
                    self._waiting_for_client = False
                    self._last_read = loop.time()  # a slow client's wait is not the backend's silence
            if pending.strip():  # the stream ended without a blank line after its last event
                last = self._take(pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + _EVENT_END)
                if last:
                    yield last
            if self._rewriter is not None and (rest := self._rewriter.finish()):
                yield rest
            self.completed = True
        except _EventTooLarge:
            self.failed = True
            yield sse.error_event(
                BackendFailed(f"Backend `{self._backend}` sent an event over {MAX_EVENT_BYTES} bytes.")
            )
        except TimeoutError:
            self.failed = True
            yield sse.error_event(BackendTimeout(f"Backend `{self._backend}` stopped sending mid-stream."))
        except aiohttp.ClientError as exc:
            self.failed = True
            if self._stalled:
                yield sse.error_event(BackendTimeout(f"Backend `{self._backend}` stopped sending mid-stream."))
            else:
                yield sse.error_event(
                    BackendFailed(f"Backend `{self._backend}` broke off the stream ({type(exc).__name__}).")
                )
        finally:
            # On client disconnect Starlette cancels us here; closing the connection makes
            # vLLM abort the request and free its batch slot.
            self.close()

    def _take(self, complete: bytes) -> bytes:
        """Complete events: counted, their usage read (and dropped if not asked for), the
        protocol's end and error events noted, rewritten if a rewriter is set."""
        now = time.perf_counter()
        if self.first_event_at is None:
            self.first_event_at = now
        self.last_event_at = now
        if self._responses:
            self.events += complete.count(b'.delta"')  # text and argument deltas: about a token each
        else:
            self.events += complete.count(b"data: {") + complete.count(b"data:{")
        if b'"usage"' in complete and _USAGE.search(complete):
            complete = self._take_usage(complete)
        if self._strip_null_usage and b'"usage"' in complete:
            complete = _NULL_USAGE.sub(b"", complete)
        if (b'error"' in complete or b'.failed"' in complete) and _ERROR_EVENT.search(complete):
            self.error_event = True  # the backend reported a failure inside the stream
        # Substring tests first: a regex anchored at a line start scans slowly (~2 µs an event).
        if (b"[DONE]" in complete and _DONE.search(complete)) or (self._responses and _response_ended(complete)):
            # The protocol's end: a client may hang up right after it (the openai SDK does),
            # before the backend closes. That is a completed stream.
            self.completed = self.ended = True
        if self._rewriter is not None and complete:
            complete = self._rewriter.events(complete)
        return complete

    @property
    def succeeded(self) -> bool:
        """The stream reached its protocol's end with no error on the way (what may be kept)."""
        return self.ended and not self.failed and not self.error_event

    @property
    def estimated_tokens(self) -> int:
        """Tokens of a stream that carried no usage: an event each (the first chat event only
        carries the role)."""
        return self.events if self._responses else max(self.events - 1, 0)

    def _watch(self) -> None:
        """The silence watchdog: cut a stream whose backend was silent for the read timeout (its
        reader then gets a ClientConnectionError, reported as the backend's timeout), else look
        again later. Time spent waiting for the client to take an event is not the backend's."""
        assert self._read_timeout is not None
        loop = asyncio.get_running_loop()
        due = self._last_read + self._read_timeout
        if self._waiting_for_client:
            self._watchdog = loop.call_at(loop.time() + self._read_timeout, self._watch)
        elif loop.time() >= due:
            self._stalled = True
            self._watchdog = None
            self._response.close()
        else:
            self._watchdog = loop.call_at(due, self._watch)

    def close(self) -> None:
        """End the backend request and report once, whether or not the stream was read (a
        response never sent has a stream nobody iterates: its generator's finally never runs)."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._finished:
            return
        self._finished = True
        self._response.close()
        self._on_finish(self)

    def _take_usage(self, complete: bytes) -> bytes:
        kept = []
        for event in sse.events_in(complete):
            if _USAGE.search(event):
                try:
                    payload = orjson.loads(sse.data_of(event))
                except orjson.JSONDecodeError:
                    payload = None
                if isinstance(payload, dict) and isinstance(payload.get("response"), dict):
                    payload = payload["response"]  # a Responses API event: usage in its response
                if isinstance(payload, dict) and isinstance(payload.get("usage"), dict):
                    self.usage = payload["usage"]
                    if not self._forward_usage and not payload.get("choices"):
                        self.events -= 1
                        continue
            kept.append(event + _EVENT_END)
        return b"".join(kept)


def _response_ended(complete: bytes) -> bool:
    return (b'.completed"' in complete or b'.incomplete"' in complete) and _RESPONSE_END.search(complete) is not None


class _EventTooLarge(Exception):
    pass
