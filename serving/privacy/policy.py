"""Each backend's data policy, applied to each request on its way to that backend.

allow: the request leaves as it is (self-hosted vLLM; a provider under the tenant's BAA).
redact: identifiers are replaced by placeholders first; the response gets them back.
block: a request with identifiers is refused (400 phi_not_allowed), never sent.

A key may be granted `allow` for a backend (`allow_phi`) and images for a backend
(`allow_images`). Images, audio and files go to a non-allow backend only with that grant:
identifiers in pixels or sound can't be redacted.

Detection runs once per request, and only when a non-allow backend is about to be tried:
self-hosted traffic pays nothing. It runs in a worker thread, so a long prompt does not
stall the streams the event loop is relaying."""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import orjson

from serving.errors import PhiNotAllowed, ScreeningUnavailable
from serving.observability.metrics import Metrics

if TYPE_CHECKING:
    from serving.access.limits import Grant
    from serving.context import RequestContext
    from serving.privacy.detector import PhiDetector
    from serving.privacy.redaction import Redaction

DataPolicy = Literal["allow", "redact", "block"]


def effective_policy(backend: str, policy: DataPolicy, grant: Grant | None) -> DataPolicy:
    if grant is not None and backend in grant.allow_phi:
        return "allow"
    return policy


@dataclass(slots=True)
class Screened:
    """A request body as found by detection: its redacted twin and the redaction."""

    redacted: dict[str, Any]
    redaction: Redaction
    unscreenable: str | None  # images, audio, files, token ids: what can't be screened


@dataclass(slots=True)
class Outgoing:
    body: dict[str, Any]
    redaction: Redaction | None  # set when placeholders went out: the response is restored
    json_content: bool  # the content is a JSON document (response_format): restore escaped
    policy: DataPolicy = "allow"

    def request_id(self, request_id: str) -> str:
        """The id sent along: a client's own may carry an encounter number or an MRN, so a
        non-allow backend gets a pseudonym (the same one each time: still correlatable by us)."""
        if self.policy == "allow":
            return request_id
        return hashlib.sha256(b"pearcare:" + request_id.encode()).hexdigest()[:32]


class DataGuard:
    def __init__(self, *, detector: Callable[[], PhiDetector], metrics: Metrics, timeout_seconds: float = 10.0) -> None:
        self._detector = detector  # built on first use: Presidio takes ~2 s to import
        self._metrics = metrics
        self._timeout = timeout_seconds
        # Its own threads, never the default executor (where aiohttp resolves backend host
        # names for every request), in two lanes: long bodies queue behind each other, never
        # in front of the ordinary ones.
        self._short = ThreadPoolExecutor(max_workers=2, thread_name_prefix="phi-screen")
        self._long = ThreadPoolExecutor(max_workers=1, thread_name_prefix="phi-screen-long")

    def close(self) -> None:
        for lane in (self._short, self._long):
            lane.shutdown(wait=False, cancel_futures=True)

    async def outgoing(
        self, *, backend: str, policy: DataPolicy, body: dict[str, Any], ctx: RequestContext
    ) -> Outgoing:
        """What may be sent to `backend`; raises PhiNotAllowed when nothing may."""
        applied = effective_policy(backend, policy, ctx.grant)
        json_content = answers_in_json(body)
        if applied == "allow":
            ctx.data_policy = "allow"
            return Outgoing(body, None, json_content)
        screened = ctx.screened
        if screened is None:
            try:
                screened = ctx.screened = await self._screen(body)
            except Unscreenable as exc:
                ctx.data_policy = "block"
                self._metrics.data_policy.labels(backend, "refused_unscreenable").inc()
                raise PhiNotAllowed(backend, [], unscreenable=str(exc)) from None
            ctx.phi_counts = dict(screened.redaction.counts)
        if screened.unscreenable and (ctx.grant is None or backend not in ctx.grant.allow_images):
            ctx.data_policy = "block"
            self._metrics.data_policy.labels(backend, "refused_binary").inc()
            raise PhiNotAllowed(backend, [], unscreenable=screened.unscreenable)
        if not screened.redaction:
            ctx.data_policy = applied
            self._metrics.data_policy.labels(backend, "clean").inc()
            return Outgoing(body, None, json_content, applied)
        if applied == "block":
            ctx.data_policy = "block"
            self._metrics.data_policy.labels(backend, "blocked").inc()
            raise PhiNotAllowed(backend, sorted(screened.redaction.counts))
        ctx.data_policy = "redact"
        self._metrics.data_policy.labels(backend, "redacted").inc()
        return Outgoing(screened.redacted, screened.redaction, json_content, "redact")

    async def _screen(self, body: dict[str, Any]) -> Screened:
        """Bounded: a request waits at most the timeout, queued or screening, and its work stops
        soon after (checked between texts), so one request never holds the threads for others."""
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        stop = threading.Event()  # set when its requester stopped waiting: the work ends early
        deadline = time.monotonic() + self._timeout
        lane = self._long if len(orjson.dumps(body)) > LONG_BODY_BYTES else self._short
        work = loop.run_in_executor(lane, lambda: screen(self._detector(), body, stop=stop, deadline=deadline))
        try:
            async with asyncio.timeout(self._timeout):
                screened = await work
        except TimeoutError:
            self._metrics.phi_detection_seconds.observe(time.perf_counter() - started)
            raise ScreeningUnavailable(self._timeout) from None
        except ScreeningAbandoned:
            raise ScreeningUnavailable(self._timeout) from None
        finally:
            stop.set()  # no-op when it finished; otherwise a queued job is skipped, a running one stops
        self._metrics.phi_detection_seconds.observe(time.perf_counter() - started)
        for kind, count in screened.redaction.counts.items():
            self._metrics.phi_entities.labels(kind).inc(count)
        return screened


# Values never screened: protocol words, ids, enumerations, and binary payloads (refused
# instead, see _UNSCREENABLE). Every other string in the body is, wherever it is: message
# contents and history, tool-call arguments, tool descriptions, schemas, stop words, suffixes.
_STRUCTURAL = frozenset(
    {
        "model",
        "role",
        "type",
        "id",
        "tool_call_id",
        "tool_choice",
        "reasoning_effort",
        "verbosity",
        "service_tier",
        "detail",
        "format",
        "encoding_format",
        "finish_reason",
        "object",
    }
)
_BINARY_VALUES = frozenset({"url", "data", "file_data", "image_url", "audio_url", "video_url", "image_embeds"})
_TEXT_PARTS = frozenset({"text", "input_text", "output_text", "refusal"})
_ROUTING = re.compile(r"^[A-Za-z0-9_-]+$")  # what OpenAI accepts as a message's `name`
MAX_SCREENED_CHARS = 262_144  # more than this isn't screened: refused for a non-allow backend
LONG_BODY_BYTES = 32_768  # bodies above this are screened in the long lane


def _structural(key: str, value: Any) -> bool:
    """A field that names how, not what. `format` is one as a string (encoding_format,
    audio); as an object it is the Responses API's output schema (text.format), screened."""
    return key in _STRUCTURAL and not (key == "format" and isinstance(value, dict))


class Unscreenable(ValueError):
    """Content detection can't vouch for: images, audio, files, token ids, too much text."""


class ScreeningAbandoned(RuntimeError):
    """Screening stopped before the end: its requester stopped waiting, or its deadline passed."""


def screen(
    detector: PhiDetector,
    body: dict[str, Any],
    *,
    stop: threading.Event | None = None,
    deadline: float | None = None,
) -> Screened:
    """The body with every string a person could have written redacted. Binary content and
    token ids are marked (they can't be screened); too much text raises Unscreenable. Between
    texts, a set `stop` or a passed `deadline` (time.monotonic) ends it: ScreeningAbandoned."""
    from serving.privacy.redaction import Redaction  # Presidio's anonymizer: imported on first use

    if stop is not None and stop.is_set():  # its requester left while it waited in the queue
        raise ScreeningAbandoned("not started: nobody waits for it")
    redaction = Redaction()
    texts: list[str] = []
    binary = _collect(body, texts, key=None)
    if sum(len(text) for text in texts) > MAX_SCREENED_CHARS:
        raise Unscreenable(f"more than {MAX_SCREENED_CHARS} characters of text")
    redaction.reserve(texts)  # placeholders the client wrote itself are never issued

    def redact(text: str) -> str:
        if (stop is not None and stop.is_set()) or (deadline is not None and time.monotonic() > deadline):
            raise ScreeningAbandoned("stopped: its requester no longer waits")
        return redaction.replace(text, detector.find(text))

    redacted = _rewrite(body, redact, key=None)
    return Screened(redacted, redaction, binary)


def _collect(node: Any, texts: list[str], *, key: str | None) -> str | None:
    """Gather the strings to screen; return what can't be screened, if anything."""
    found: str | None = None
    if isinstance(node, dict):
        for child_key, child in node.items():
            if _structural(child_key, child):
                continue
            if child_key in _BINARY_VALUES and child:
                found = found or f"`{child_key}` content"
                continue
            found = _collect(child, texts, key=child_key) or found
    elif isinstance(node, list):
        if key in ("prompt", "input") and node and all(isinstance(item, int) for item in node):
            return "token ids"
        if key == "content":  # a message's parts: anything but text is binary
            for part in node:
                kind = part.get("type") if isinstance(part, dict) else None
                if not isinstance(kind, str) or kind not in _TEXT_PARTS:
                    found = found or f"`{kind if isinstance(kind, str) else 'unknown'}` content"
        for child in node:
            found = _collect(child, texts, key=key) or found
    elif isinstance(node, str):
        texts.append(node)
    return found


def _rewrite(node: Any, redact: Callable[[str], str], *, key: str | None) -> Any:
    if isinstance(node, dict):
        out = {}
        for child_key, child in node.items():
            if _structural(child_key, child) or child_key in _BINARY_VALUES:
                out[child_key] = child
            elif child_key == "name" and isinstance(child, str) and "role" in node:
                # A participant's name: screened with its _ and - as spaces; one that names
                # someone is left out (a placeholder would break OpenAI's pattern for it).
                spaced = child.replace("_", " ").replace("-", " ")
                if redact(spaced) == spaced:
                    out[child_key] = child
            else:
                out[child_key] = _rewrite(child, redact, key=child_key)
        return out
    if isinstance(node, list):
        return [_rewrite(child, redact, key=key) for child in node]
    if isinstance(node, str):
        return redact(node)
    return node


def answers_in_json(body: dict[str, Any]) -> bool:
    """The answer is a JSON document: chat's response_format, or the Responses API's text.format."""
    response_format = body.get("response_format")
    text = body.get("text")
    if isinstance(text, dict) and isinstance(text.get("format"), dict):
        response_format = text["format"]
    return isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema")


def shared_detector() -> PhiDetector:
    """The process's detector, built on first use (Presidio's import is the cost)."""
    from serving.privacy.detector import shared_detector as build

    return build()
