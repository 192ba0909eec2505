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
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from serving.errors import PhiNotAllowed
from serving.observability.metrics import Metrics

if TYPE_CHECKING:
    from serving.access.limits import Grant
    from serving.context import RequestContext
    from serving.privacy.detector import PhiDetector
    from serving.privacy.redaction import Redaction

DataPolicy = Literal["allow", "redact", "block"]
_BINARY_PARTS = frozenset({"image_url", "input_image", "input_audio", "file", "input_file"})


def effective_policy(backend: str, policy: DataPolicy, grant: Grant | None) -> DataPolicy:
    if grant is not None and backend in grant.allow_phi:
        return "allow"
    return policy


@dataclass(slots=True)
class Screened:
    """A request body as found by detection: its redacted twin and the redaction."""

    redacted: dict[str, Any]
    redaction: Redaction
    has_binary: bool


@dataclass(slots=True)
class Outgoing:
    body: dict[str, Any]
    redaction: Redaction | None  # set when placeholders went out: the response is restored
    json_content: bool  # the content is a JSON document (response_format): restore escaped


class DataGuard:
    def __init__(self, *, detector: Callable[[], PhiDetector], metrics: Metrics) -> None:
        self._detector = detector  # built on first use: Presidio takes ~2 s to import
        self._metrics = metrics

    async def outgoing(
        self, *, backend: str, policy: DataPolicy, body: dict[str, Any], ctx: RequestContext
    ) -> Outgoing:
        """What may be sent to `backend`; raises PhiNotAllowed when nothing may."""
        applied = effective_policy(backend, policy, ctx.grant)
        json_content = _json_content(body)
        if applied == "allow":
            ctx.data_policy = "allow"
            return Outgoing(body, None, json_content)
        screened = ctx.screened
        if screened is None:
            screened = ctx.screened = await self._screen(body)
            ctx.phi_counts = dict(screened.redaction.counts)
        if screened.has_binary and (ctx.grant is None or backend not in ctx.grant.allow_images):
            ctx.data_policy = "block"
            self._metrics.data_policy.labels(backend, "refused_binary").inc()
            raise PhiNotAllowed(backend, ["IMAGE"], images=True)
        if not screened.redaction:
            ctx.data_policy = applied
            self._metrics.data_policy.labels(backend, "clean").inc()
            return Outgoing(body, None, json_content)
        if applied == "block":
            ctx.data_policy = "block"
            self._metrics.data_policy.labels(backend, "blocked").inc()
            raise PhiNotAllowed(backend, sorted(screened.redaction.counts))
        ctx.data_policy = "redact"
        self._metrics.data_policy.labels(backend, "redacted").inc()
        return Outgoing(screened.redacted, screened.redaction, json_content)

    async def _screen(self, body: dict[str, Any]) -> Screened:
        started = time.perf_counter()
        screened = await asyncio.to_thread(screen, self._detector(), body)
        self._metrics.phi_detection_seconds.observe(time.perf_counter() - started)
        for kind, count in screened.redaction.counts.items():
            self._metrics.phi_entities.labels(kind).inc(count)
        return screened


def screen(detector: PhiDetector, body: dict[str, Any]) -> Screened:
    """The body with every text a person could have written redacted: message contents and
    names, tool-call arguments in the history, completion prompts, embedding inputs."""
    from serving.privacy.redaction import Redaction  # Presidio's anonymizer: imported on first use

    redaction = Redaction()
    has_binary = False

    def redact(text: str) -> str:
        return redaction.replace(text, detector.find(text))

    redacted = dict(body)
    if isinstance(body.get("messages"), list):
        messages = []
        for message in body["messages"]:
            if not isinstance(message, dict):
                messages.append(message)
                continue
            message = dict(message)
            content = message.get("content")
            if isinstance(content, str):
                message["content"] = redact(content)
            elif isinstance(content, list):
                parts = []
                for part in content:
                    if isinstance(part, dict) and part.get("type") in _BINARY_PARTS:
                        has_binary = True
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        part = {**part, "text": redact(part["text"])}
                    parts.append(part)
                message["content"] = parts
            if isinstance(message.get("name"), str):
                message["name"] = redact(message["name"])
            if isinstance(message.get("tool_calls"), list):
                message["tool_calls"] = [_redact_call(call, redact) for call in message["tool_calls"]]
            messages.append(message)
        redacted["messages"] = messages
    for field in ("prompt", "input"):
        value = body.get(field)
        if isinstance(value, str):
            redacted[field] = redact(value)
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            redacted[field] = [redact(item) for item in value]
    return Screened(redacted, redaction, has_binary)


def _redact_call(call: Any, redact: Callable[[str], str]) -> Any:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        return call
    function = call["function"]
    if not isinstance(function.get("arguments"), str):
        return call
    return {**call, "function": {**function, "arguments": redact(function["arguments"])}}


def _json_content(body: dict[str, Any]) -> bool:
    response_format = body.get("response_format")
    return isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema")


def shared_detector() -> PhiDetector:
    """The process's detector, built on first use (Presidio's import is the cost)."""
    from serving.privacy.detector import shared_detector as build

    return build()
