"""Forward one OpenAI request to the first backend of its alias that answers, falling back
to the next one when a backend fails before the first byte."""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from serving.backends.backend import Backend
from serving.backends.balancer import affinity_key
from serving.backends.breaker import STATE_VALUE
from serving.backends.endpoint import Endpoint
from serving.backends.registry import BackendRegistry
from serving.backends.relay import StreamRelay
from serving.context import RequestContext
from serving.errors import (
    APIError,
    BackendFailed,
    BackendOverloaded,
    BackendTimeout,
    BackendUnavailable,
    InvalidRequest,
    PhiNotAllowed,
    backend_error,
)
from serving.observability.metrics import Metrics
from serving.privacy.policy import DataGuard
from serving.privacy.restoration import restore_body, stream_restorer

log = logging.getLogger(__name__)

# Statuses after which the next backend of the alias is tried.
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
# The backend refused *our* credentials: the caller's request is fine, the façade is not.
_CREDENTIALS_REFUSED = frozenset({401, 403})
_PASSED_HEADERS = ("retry-after", "retry-after-ms")


@dataclass(slots=True)
class ProxyReply:
    backend: str
    body: bytes | None = None
    relay: StreamRelay | None = None


class Proxy:
    def __init__(self, *, registry: BackendRegistry, metrics: Metrics, guard: DataGuard) -> None:
        self._registry = registry
        self._metrics = metrics
        self._guard = guard

    def self_hosted(self, alias: str) -> bool:
        return self._registry.self_hosted(alias)

    async def send(
        self,
        *,
        path: str,
        alias: str,
        body: dict[str, Any],
        stream: bool,
        forward_usage: bool,
        ctx: RequestContext,
    ) -> ProxyReply:
        last_error: APIError = BackendUnavailable(f"No backend is configured for `{alias}`.")
        phi_refusal: PhiNotAllowed | None = None
        tried_any = False
        for position, backend in enumerate(self._registry.candidates(alias)):
            # The backend's data policy first: identifiers redacted, or this backend skipped.
            try:
                outgoing = await self._guard.outgoing(
                    backend=backend.name, policy=backend.config.policy, body=body, ctx=ctx
                )
            except PhiNotAllowed as refusal:
                phi_refusal = refusal
                continue
            # A body the backend cannot be sent is the client's 400, before anything is opened.
            # Kept state only where nothing was redacted: placeholders restart at [NAME_1] in
            # every request, so a stored conversation would swap patients on its next turn.
            may_store = ctx.grant is not None and backend.name in ctx.grant.allow_store and outgoing.policy == "allow"
            data = encode(backend.translator.translate(outgoing.body, stream=stream, path=path, may_store=may_store))
            tried_any = True
            # The prompt's prefix only matters where there is a replica to choose.
            choosing = backend.config.prefix_affinity and len(backend.endpoints) > 1
            key = affinity_key(outgoing.body, ctx.session_id) if choosing else None
            tried: set[Endpoint] = set()
            deadline = time.monotonic() + backend.config.concurrency.max_wait_seconds  # for every attempt here
            while True:  # the tier's endpoints, until one answers
                asked = time.perf_counter()
                try:
                    endpoint = await backend.acquire(key=key, priority=ctx.priority, exclude=tried, deadline=deadline)
                    if backend.config.concurrency.max_in_flight_per_endpoint:
                        self._metrics.queue_wait.labels(backend.name).observe(time.perf_counter() - asked)
                except BackendOverloaded as full:
                    self._metrics.queue_rejections.labels(backend.name, full.reason).inc()
                    last_error = full
                    break
                except BackendUnavailable as exhausted:
                    if not tried:
                        last_error = exhausted
                    break
                tried.add(endpoint)
                self._opened(backend, endpoint)
                sent = time.perf_counter()
                try:
                    response = await backend.post(
                        endpoint, path, data, outgoing.request_id(ctx.request_id), stream=stream
                    )
                    self._metrics.backend_response_start.labels(backend.name).observe(time.perf_counter() - sent)
                except APIError as unreachable:
                    outcome = "timeout" if isinstance(unreachable, BackendTimeout) else "unreachable"
                    self._closed(backend, endpoint, outcome)
                    last_error = unreachable
                    continue
                except BaseException:  # cancelled (the client hung up) while waiting for the first byte
                    self._closed(backend, endpoint, "cancelled")
                    raise
                if response.status >= 400:
                    refused = await self._error_from(backend, endpoint, response, path, alias)
                    last_error = refused
                    if response.status in _CREDENTIALS_REFUSED:
                        backend.failed(refused)  # every endpoint has the same key: the whole tier
                        break
                    if response.status not in _RETRYABLE:
                        raise refused
                    if response.status >= 500:
                        backend.failed(refused, endpoint)
                    continue
                backend.succeeded(endpoint)
                ctx.backend = backend.name
                ctx.backend_model = backend.config.model
                if position:
                    self._metrics.fallbacks.labels(alias).inc()
                if stream:
                    relay = StreamRelay(
                        response,
                        backend=backend.name,
                        started=ctx.started,
                        forward_usage=forward_usage,
                        on_finish=functools.partial(self._stream_finished, backend, endpoint, ctx=ctx),
                        strip_null_usage=path == "/completions",
                        responses=path == "/responses",
                        rewriter=None
                        if outgoing.redaction is None
                        else stream_restorer(path, outgoing.redaction, json_content=outgoing.json_content),
                    )
                    return ProxyReply(backend=backend.name, relay=relay)
                raw = await self._read_body(backend, endpoint, response, ctx)
                if outgoing.redaction is not None:
                    raw = restore_body(raw, outgoing.redaction, json_content=outgoing.json_content)
                return ProxyReply(backend=backend.name, body=raw)
        if phi_refusal is None:
            raise last_error
        if tried_any:
            # An allowed backend failed and the rest refuse the identifiers: the failure is what
            # the client can retry; the refusal is why no fallback served.
            last_error.message += f" The fallback was not used: {phi_refusal.message}"
            raise last_error
        raise phi_refusal

    async def _read_body(
        self, backend: Backend, endpoint: Endpoint, response: aiohttp.ClientResponse, ctx: RequestContext
    ) -> bytes:
        outcome = "error"
        try:
            raw = await response.read()
            outcome = "ok"
        except TimeoutError as exc:
            raise BackendTimeout(f"Backend `{backend.name}` timed out.") from exc
        except aiohttp.ClientError as exc:
            raise BackendUnavailable(f"Backend `{backend.name}` broke off ({type(exc).__name__}).") from exc
        finally:
            response.release()
            self._closed(backend, endpoint, outcome)
        _read_usage(raw, ctx)
        return raw

    async def _error_from(
        self, backend: Backend, endpoint: Endpoint, response: aiohttp.ClientResponse, path: str, alias: str
    ) -> APIError:
        try:
            raw = await response.read()
        except (aiohttp.ClientError, TimeoutError):
            raw = b""
        finally:
            response.release()
            self._closed(backend, endpoint, f"http_{response.status // 100}xx")
        if path == "/embeddings" and response.status in (404, 405, 501):
            return InvalidRequest(
                f"The model `{alias}` does not serve embeddings.", param="model", code="model_not_supported"
            )
        if response.status in _CREDENTIALS_REFUSED:
            log.error(
                "backend refused the façade's credentials: check its api_key",
                extra={"backend": backend.name, "status": response.status},
            )
            return BackendFailed(
                f"Backend `{backend.name}` refused the service's credentials.", code="backend_auth_failed"
            )
        error = backend_error(response.status, raw, backend.name, secret=backend.config.api_key)
        error.headers.update({h: response.headers[h] for h in _PASSED_HEADERS if h in response.headers})
        return error

    def _opened(self, backend: Backend, endpoint: Endpoint) -> None:
        self._metrics.backend_in_flight.labels(backend.name).inc()
        self._metrics.endpoint_in_flight.labels(backend.name, endpoint.name).inc()

    def _closed(self, backend: Backend, endpoint: Endpoint, outcome: str) -> None:
        backend.release(endpoint)
        self._metrics.queue_depth.labels(backend.name).set(backend.queued)
        self._metrics.endpoint_breaker.labels(backend.name, endpoint.name).set(STATE_VALUE[endpoint.breaker.state])
        self._metrics.backend_in_flight.labels(backend.name).dec()
        self._metrics.endpoint_in_flight.labels(backend.name, endpoint.name).dec()
        self._metrics.backend_requests.labels(backend.name, outcome).inc()

    def _stream_finished(
        self, backend: Backend, endpoint: Endpoint, relay: StreamRelay, *, ctx: RequestContext
    ) -> None:
        if relay.abandoned:  # admission refused it: neither the backend's failure nor the client's
            self._closed(backend, endpoint, "refused")
            return
        if relay.failed:
            ctx.outcome = "backend_failed"
            backend.failed(BackendFailed(f"Backend `{backend.name}` broke off a stream."), endpoint)
        elif not relay.completed:
            ctx.outcome = "client_disconnected"
        self._closed(backend, endpoint, "ok" if relay.completed else ctx.outcome)
        ctx.time_to_first_token = relay.time_to_first_event
        ctx.inter_token_latency = relay.mean_event_gap
        if relay.usage is not None:
            _apply_usage(relay.usage, ctx)
        else:
            # An interrupted stream gets no usage chunk: each content event is one token
            # (vLLM streams token by token).
            ctx.completion_tokens = relay.estimated_tokens
            ctx.tokens_estimated = True


def encode(payload: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(payload)
    except orjson.JSONEncodeError as exc:  # nested deeper than orjson writes (254 levels)
        raise InvalidRequest(
            f"The request could not be forwarded: {exc}. Nest JSON values less deeply.",
            param=_deepest_field(payload),
            code="invalid_value",
        ) from None


def _deepest_field(payload: dict[str, Any]) -> str | None:
    """The top-level field nested deepest (only on the error path: it walks the whole body)."""

    def depth(value: Any) -> int:
        deepest, level, stack = 0, 0, [(value, 1)]
        while stack:
            node, level = stack.pop()
            deepest = max(deepest, level)
            if isinstance(node, dict):
                stack.extend((child, level + 1) for child in node.values())
            elif isinstance(node, list):
                stack.extend((child, level + 1) for child in node)
        return deepest

    if not payload:
        return None
    return max(payload, key=lambda field: depth(payload[field]))


def _read_usage(raw: bytes, ctx: RequestContext) -> None:
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return
    if isinstance(payload, dict) and isinstance(payload.get("usage"), dict):
        _apply_usage(payload["usage"], ctx)


def _apply_usage(usage: dict[str, Any], ctx: RequestContext) -> None:
    """Chat and completions name them prompt/completion tokens, the Responses API input/output."""
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    ctx.prompt_tokens = prompt if isinstance(prompt, int) else None
    ctx.completion_tokens = completion if isinstance(completion, int) else 0
