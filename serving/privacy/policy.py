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
import hmac
import re
import secrets
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
    unscreenable: str | None  # images, audio, files in content parts: an image grant may allow them
    token_ids: bool = False  # a prompt as token ids: never screenable, refused for every non-allow backend


@dataclass(slots=True)
class Outgoing:
    body: dict[str, Any]
    redaction: Redaction | None  # set when placeholders went out: the response is restored
    json_content: bool  # the content is a JSON document (response_format): restore escaped
    policy: DataPolicy = "allow"
    pseudonym_key: bytes = b""

    def request_id(self, request_id: str) -> str:
        """The id sent along: a client's own may carry an encounter number or an MRN, so a
        non-allow backend gets a pseudonym: keyed (HMAC-SHA256 with the deployment's secret),
        so an id cannot be recovered by hashing guesses; the same one each time, so we can
        still correlate it."""
        if self.policy == "allow":
            return request_id
        return hmac.new(self.pseudonym_key, request_id.encode(), hashlib.sha256).hexdigest()[:32]


class DataGuard:
    def __init__(
        self,
        *,
        detector: Callable[[], PhiDetector],
        metrics: Metrics,
        timeout_seconds: float = 10.0,
        pseudonym_key: bytes | None = None,
    ) -> None:
        self._detector = detector  # built on first use: Presidio takes ~2 s to import
        self._metrics = metrics
        self._timeout = timeout_seconds
        # server.request_id_secret keys the pseudonyms (the same across replicas and restarts);
        # without it, a key of this process's own (pseudonyms then differ between processes).
        self._pseudonym_key = pseudonym_key or secrets.token_bytes(32)
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
        if screened.token_ids:  # no grant makes token ids screenable
            ctx.data_policy = "block"
            self._metrics.data_policy.labels(backend, "refused_unscreenable").inc()
            raise PhiNotAllowed(backend, [], unscreenable="a prompt given as token ids")
        if screened.unscreenable and (ctx.grant is None or backend not in ctx.grant.allow_images):
            ctx.data_policy = "block"
            self._metrics.data_policy.labels(backend, "refused_binary").inc()
            raise PhiNotAllowed(backend, [], unscreenable=screened.unscreenable)
        if not screened.redaction:
            ctx.data_policy = applied
            self._metrics.data_policy.labels(backend, "clean").inc()
            return Outgoing(body, None, json_content, applied, self._pseudonym_key)
        if applied == "block":
            ctx.data_policy = "block"
            self._metrics.data_policy.labels(backend, "blocked").inc()
            raise PhiNotAllowed(backend, sorted(screened.redaction.counts))
        ctx.data_policy = "redact"
        self._metrics.data_policy.labels(backend, "redacted").inc()
        return Outgoing(screened.redacted, screened.redaction, json_content, "redact", self._pseudonym_key)

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


# Screening by protocol position: one walk over a request body that knows where its text, its
# binary parts and its structure are.
# - Values never screened: protocol words, ids and enumerations.
# - Content parts (a message's `content` list, a Responses message's parts): text parts are
#   screened; any other part (image, audio, file) is binary, whatever its fields are called.
#   Only there do `url`, `data` or `image_url` mean binary: a tool's `url` parameter or a
#   schema's `data` property is structure, screened like any other.
# - Token ids (`prompt` or `input` given as integers): never screenable.
# - Object keys a person could have written (a schema's property names, metadata keys, anything
#   that is not a protocol field name) are screened like text, and renamed when they hold an
#   identifier: the same identifier gets the same placeholder in `required` and in answers.
_STRUCTURAL = frozenset(
    {
        "model",
        "role",
        "type",
        "id",
        "tool_call_id",
        "call_id",
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
_TEXT_PARTS = frozenset({"text", "input_text", "output_text", "refusal", "summary_text", "reasoning_text"})
# Content parts: a message's `content`, and a Responses tool result's `output` (images too).
_PART_LISTS = frozenset({"content", "output"})
_TOKEN_FIELDS = frozenset({"prompt", "input"})
# Field names of OpenAI's requests: not screened as keys (they are the protocol's own words).
_PROTOCOL_KEYS = frozenset(
    {
        *_STRUCTURAL,
        "messages",
        "content",
        "text",
        "name",
        "tools",
        "function",
        "functions",
        "function_call",
        "parameters",
        "properties",
        "required",
        "description",
        "response_format",
        "json_schema",
        "schema",
        "strict",
        "stream",
        "stream_options",
        "include_usage",
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "temperature",
        "top_p",
        "n",
        "stop",
        "seed",
        "user",
        "metadata",
        "input",
        "instructions",
        "prompt",
        "suffix",
        "items",
        "enum",
        "additionalProperties",
        "title",
        "default",
        "minimum",
        "maximum",
        "anyOf",
        "allOf",
        "oneOf",
        "$ref",
        "$defs",
        "definitions",
        "arguments",
        "tool_calls",
        "output",
        "reasoning",
        "effort",
        "summary",
        "image_url",
        "url",
        "input_audio",
        "file",
        "file_data",
        "file_id",
        "filename",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "presence_penalty",
        "frequency_penalty",
        "best_of",
        "echo",
        "dimensions",
        "store",
        "previous_response_id",
        "truncation",
        "parallel_tool_calls",
        "modalities",
        "audio",
        "prediction",
        "refusal",
        "annotations",
        "status",
        "include",
        "background",
        "prompt_cache_key",
        "safety_identifier",
        "top_k",
        "min_p",
        "repetition_penalty",
        "ignore_eos",
        "chat_template_kwargs",
    }
)
_ROUTING = re.compile(r"^[A-Za-z0-9_-]+$")  # what OpenAI accepts as a message's `name`
MAX_SCREENED_CHARS = 262_144  # more than this isn't screened: refused for a non-allow backend
LONG_BODY_BYTES = 32_768  # bodies above this are screened in the long lane


def _structural(key: str, value: Any) -> bool:
    """A field that names how, not what. `format` is one as a string (encoding_format,
    audio); as an object it is the Responses API's output schema (text.format), screened."""
    return key in _STRUCTURAL and not (key == "format" and isinstance(value, dict))


def _screened_key(key: str) -> bool:
    return key not in _PROTOCOL_KEYS


def _token_ids(value: Any) -> bool:
    """A prompt as token ids: [1, 2, 3] or [[1, 2], [3]]."""
    if not isinstance(value, list) or not value:
        return False
    if all(isinstance(item, int) for item in value):
        return True
    lists = all(isinstance(item, list) and all(isinstance(t, int) for t in item) for item in value)
    return lists and any(value)  # [[1, 2], []] too: a ragged batch is still token ids


class Unscreenable(ValueError):
    """Content detection can't vouch for: too much text."""


class ScreeningAbandoned(RuntimeError):
    """Screening stopped before the end: its requester stopped waiting, or its deadline passed."""


@dataclass
class _Walk:
    texts: list[str]
    binary: str | None = None
    token_ids: bool = False


def screen(
    detector: PhiDetector,
    body: dict[str, Any],
    *,
    stop: threading.Event | None = None,
    deadline: float | None = None,
) -> Screened:
    """The body with every string and key a person could have written redacted. Binary content
    parts and token ids are marked (they can't be screened); too much text raises
    Unscreenable. Between texts, a set `stop` or a passed `deadline` (time.monotonic) ends it:
    ScreeningAbandoned."""
    from serving.privacy.redaction import Redaction  # Presidio's anonymizer: imported on first use

    if stop is not None and stop.is_set():  # its requester left while it waited in the queue
        raise ScreeningAbandoned("not started: nobody waits for it")
    redaction = Redaction()
    walk = _Walk(texts=[])
    _collect(body, walk, key=None, top=True)
    if sum(len(text) for text in walk.texts) > MAX_SCREENED_CHARS:
        raise Unscreenable(f"more than {MAX_SCREENED_CHARS} characters of text")
    redaction.reserve(walk.texts)  # placeholders the client wrote itself are never issued

    def redact(text: str) -> str:
        if (stop is not None and stop.is_set()) or (deadline is not None and time.monotonic() > deadline):
            raise ScreeningAbandoned("stopped: its requester no longer waits")
        return redaction.replace(text, detector.find(text))

    redacted = _rewrite(body, redact, key=None, top=True)
    return Screened(redacted, redaction, walk.binary, walk.token_ids)


def _collect(node: Any, walk: _Walk, *, key: str | None, top: bool = False) -> None:
    """Gather the strings and keys to screen; mark binary parts and token ids."""
    if isinstance(node, dict):
        for child_key, child in node.items():
            if _screened_key(child_key):
                walk.texts.append(child_key)
            if _structural(child_key, child):
                continue
            if top and child_key in _TOKEN_FIELDS and _token_ids(child):
                walk.token_ids = True
                continue
            _collect(child, walk, key=child_key)
    elif isinstance(node, list):
        if key in _PART_LISTS:
            for part in node:
                kind = part.get("type") if isinstance(part, dict) else None
                if isinstance(part, dict) and not (isinstance(kind, str) and kind in _TEXT_PARTS):
                    walk.binary = walk.binary or f"`{kind if isinstance(kind, str) else 'unknown'}` content"
                    continue
                _collect(part, walk, key=key)
            return
        for child in node:
            _collect(child, walk, key=key)
    elif isinstance(node, str):
        walk.texts.append(node)


def _rewrite(node: Any, redact: Callable[[str], str], *, key: str | None, top: bool = False) -> Any:
    if isinstance(node, dict):
        out = {}
        for child_key, child in node.items():
            name = redact(child_key) if _screened_key(child_key) else child_key
            if _structural(child_key, child) or (top and child_key in _TOKEN_FIELDS and _token_ids(child)):
                out[name] = child
            elif child_key == "name" and isinstance(child, str) and "role" in node:
                # A participant's name: screened with its _ and - as spaces; one that names
                # someone is left out (a placeholder would break OpenAI's pattern for it).
                spaced = child.replace("_", " ").replace("-", " ")
                if redact(spaced) == spaced:
                    out[name] = child
            else:
                out[name] = _rewrite(child, redact, key=child_key)
        return out
    if isinstance(node, list):
        if key in _PART_LISTS:
            return [
                part
                if isinstance(part, dict) and not (isinstance(part.get("type"), str) and part["type"] in _TEXT_PARTS)
                else _rewrite(part, redact, key=key)
                for part in node
            ]
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
