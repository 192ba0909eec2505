"""Forward one OpenAI request to the first backend of its alias that answers, falling back
to the next one when a backend fails before the first byte."""

from __future__ import annotations

import functools
import logging
import time

import aiohttp
from opentelemetry.trace import Span

from serving.backends.backend import Backend
from serving.backends.balancer import affinity_key
from serving.backends.breaker import STATE_VALUE
from serving.backends.dispatch import Dispatch, ProxyReply, encode, usage_of
from serving.backends.endpoint import Endpoint
from serving.backends.registry import BackendRegistry
from serving.backends.relay import StreamRelay
from serving.backends.wire import WireApi
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
from serving.observability.tracing import OPERATIONS, Tracing, end_attempt
from serving.privacy.policy import DataGuard
from serving.privacy.restoration import restore_body

log = logging.getLogger(__name__)

# Statuses after which the next backend of the alias is tried.
_RETRYABLE = frozenset({429, 500, 502, 503, 504})
# The backend refused *our* credentials: the caller's request is fine, the façade is not.
_CREDENTIALS_REFUSED = frozenset({401, 403})
_PASSED_HEADERS = ("retry-after", "retry-after-ms")


class Proxy:
    def __init__(
        self, *, registry: BackendRegistry, metrics: Metrics, guard: DataGuard, tracing: Tracing | None = None
    ) -> None:
        self._registry = registry
        self._metrics = metrics
        self._guard = guard
        self._tracing = tracing

    def self_hosted(self, alias: str) -> bool:
        return self._registry.self_hosted(alias)

    async def send(self, request: Dispatch, reply: ProxyReply | None = None) -> ProxyReply:
        """Never raises an APIError: the reply carries it, with what happened before it. A
        caller that passes its own `reply` keeps what was learned if it is cancelled midway
        (the data policy applied: the prompt may have left)."""
        reply = reply if reply is not None else ProxyReply()
        try:
            await self._send(request, reply)
        except APIError as error:
            reply.error = error
        return reply

    async def _send(self, request: Dispatch, reply: ProxyReply) -> None:
        alias, api, stream = request.alias, request.api, request.stream
        last_error: APIError = BackendUnavailable(f"No backend is configured for `{alias}`.")
        phi_refusal: PhiNotAllowed | None = None
        tried_any = False
        # Every backend tried reads one screening; on the reply, its counts reach the record.
        screening = reply.screening = self._guard.screening(request.body)
        for position, backend in enumerate(self._registry.candidates(alias)):
            # The backend's data policy first: identifiers redacted, or this backend skipped.
            guarding = self._step("phi_guard", backend)
            try:
                outgoing = await self._guard.outgoing(
                    backend=backend.name, policy=backend.policy, grant=request.grant, screening=screening
                )
                if guarding is not None:
                    guarding.set_attribute("pearcare.data_policy", outgoing.policy)
                sent_id = outgoing.request_id(request.request_id)  # a pseudonym for a non-allow backend
            except PhiNotAllowed as refusal:
                if guarding is not None:
                    guarding.set_attribute("pearcare.data_policy", "block")
                reply.data_policy = "block"
                phi_refusal = refusal
                continue
            finally:
                if guarding is not None:
                    guarding.end()
            reply.data_policy = outgoing.policy
            # A body the backend cannot be sent is the client's 400, before anything is opened.
            # Kept state only where nothing was redacted: placeholders restart at [NAME_1] in
            # every request, so a stored conversation would swap patients on its next turn.
            grant = request.grant
            may_store = grant is not None and backend.name in grant.grants.allow_store and outgoing.policy == "allow"
            data = encode(api.translate(backend.translator, outgoing.body, stream=stream, may_store=may_store))
            tried_any = True
            # The prompt's prefix only matters where there is a replica to choose.
            choosing = backend.config.prefix_affinity and len(backend.endpoints) > 1
            key = affinity_key(outgoing.body, request.session_id) if choosing else None
            tried: set[Endpoint] = set()
            deadline = time.monotonic() + backend.config.concurrency.max_wait_seconds  # for every attempt here
            while True:  # the tier's endpoints, until one answers
                asked = time.perf_counter()
                waiting = (
                    self._tracing.step("queue_wait", **{"pearcare.backend": backend.name}) if self._tracing else None
                )
                try:
                    endpoint = await backend.acquire(
                        key=key, priority=request.priority, exclude=tried, deadline=deadline
                    )
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
                finally:
                    if waiting is not None:
                        waiting.end()
                tried.add(endpoint)
                self._opened(backend, endpoint)
                attempt, trace_headers = self._attempt(api, backend, endpoint)
                sent = time.perf_counter()
                try:
                    response = await backend.post(endpoint, api.path, data, sent_id, stream=stream, extra=trace_headers)
                    self._metrics.backend_response_start.labels(backend.name).observe(time.perf_counter() - sent)
                except APIError as unreachable:
                    outcome = "timeout" if isinstance(unreachable, BackendTimeout) else "unreachable"
                    self._closed(backend, endpoint, outcome, attempt)
                    last_error = unreachable
                    continue
                except BaseException:  # cancelled (the client hung up) while waiting for the first byte
                    self._closed(backend, endpoint, "cancelled", attempt)
                    raise
                if response.status >= 400:
                    refused = await self._error_from(backend, endpoint, response, api, alias, attempt)
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
                reply.backend = backend.name
                reply.backend_model = backend.config.model
                if position:
                    self._metrics.fallbacks.labels(alias).inc()
                if stream:
                    reply.relay = StreamRelay(
                        response,
                        backend=backend.name,
                        started=request.started,
                        forward_usage=request.forward_usage,
                        on_finish=functools.partial(self._stream_finished, backend, endpoint, attempt),
                        strip_null_usage=api.strips_null_usage,
                        responses=api.typed_events,
                        read_timeout=backend.config.timeouts.read,
                        rewriter=None
                        if outgoing.redaction is None
                        else api.stream_restorer(outgoing.redaction, json_content=outgoing.json_content),
                    )
                    return
                raw = await self._read_body(backend, endpoint, response, attempt)
                reply.usage = usage_of(raw)
                if outgoing.redaction is not None:
                    raw = restore_body(raw, outgoing.redaction, json_content=outgoing.json_content)
                reply.body = raw
                return
        if phi_refusal is None:
            raise last_error
        if tried_any:
            # An allowed backend failed and the rest refuse the identifiers: the failure is what
            # the client can retry; the refusal is why no fallback served.
            last_error.message += f" The fallback was not used: {phi_refusal.message}"
            raise last_error
        raise phi_refusal

    async def _read_body(
        self, backend: Backend, endpoint: Endpoint, response: aiohttp.ClientResponse, attempt: Span | None
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
            self._closed(backend, endpoint, outcome, attempt, response.status)
        return raw

    async def _error_from(
        self,
        backend: Backend,
        endpoint: Endpoint,
        response: aiohttp.ClientResponse,
        api: WireApi,
        alias: str,
        attempt: Span | None,
    ) -> APIError:
        try:
            raw = await response.read()
        except (aiohttp.ClientError, TimeoutError):
            raw = b""
        finally:
            response.release()
            self._closed(backend, endpoint, f"http_{response.status // 100}xx", attempt, response.status)
        if api.optional_endpoint and response.status in (404, 405, 501):
            return InvalidRequest(
                f"The model `{alias}` does not serve {api.name}.", param="model", code="model_not_supported"
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

    def _step(self, name: str, backend: Backend) -> Span | None:
        return None if self._tracing is None else self._tracing.step(name, **{"pearcare.backend": backend.name})

    def _attempt(self, api: WireApi, backend: Backend, endpoint: Endpoint) -> tuple[Span | None, dict[str, str] | None]:
        """The attempt's span, and its traceparent for a self-hosted backend only: a third-party
        API (OpenAI) gets no header that ties its requests to ours."""
        if self._tracing is None:
            return None, None
        span, carrier = self._tracing.backend_attempt(
            OPERATIONS.get("/v1" + api.path, api.name),
            backend=backend.name,
            provider=backend.config.kind,
            model=backend.config.model,
            endpoint=endpoint.name,
        )
        return span, (carrier if backend.config.kind == "vllm" else None)

    def _closed(
        self, backend: Backend, endpoint: Endpoint, outcome: str, attempt: Span | None = None, status: int | None = None
    ) -> None:
        end_attempt(attempt, outcome, status)
        backend.release(endpoint)
        self._metrics.queue_depth.labels(backend.name).set(backend.queued)
        self._metrics.endpoint_breaker.labels(backend.name, endpoint.name).set(STATE_VALUE[endpoint.breaker.state])
        self._metrics.backend_in_flight.labels(backend.name).dec()
        self._metrics.endpoint_in_flight.labels(backend.name, endpoint.name).dec()
        self._metrics.backend_requests.labels(backend.name, outcome).inc()

    def _stream_finished(self, backend: Backend, endpoint: Endpoint, attempt: Span | None, relay: StreamRelay) -> None:
        """The endpoint's bookkeeping when its stream ends (what the stream carried stays on
        the relay, for the request's owner to read)."""
        if relay.abandoned:  # admission refused it: neither the backend's failure nor the client's
            self._closed(backend, endpoint, "refused", attempt)
            return
        if relay.failed:
            backend.failed(BackendFailed(f"Backend `{backend.name}` broke off a stream."), endpoint)
            outcome = "backend_failed"
        else:
            outcome = "ok" if relay.completed else "client_disconnected"
        self._closed(backend, endpoint, outcome, attempt, 200)
