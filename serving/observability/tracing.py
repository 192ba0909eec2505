"""OpenTelemetry traces: a span per request (continuing the caller's W3C traceparent), with child
spans for admission, the PHI guard, the queue wait and each backend attempt, exported over
OTLP/HTTP. Attributes follow the GenAI semantic conventions (gen_ai.*) and carry counts, names
and timings only: never a prompt, completion or identifier.

Off by default (tracing.otlp_endpoint unset): then `enabled` is false and the request path
skips every call here. The traceparent goes to self-hosted backends (vLLM continues the trace
with its own spans) and never to a third-party API."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanContext, SpanKind, Status, StatusCode, TraceFlags, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from serving.settings import TracingConfig

_PROPAGATOR = TraceContextTextMapPropagator()
# The GenAI conventions' operation names, by generation route.
OPERATIONS = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "text_completion",
    "/v1/embeddings": "embeddings",
    "/v1/responses": "chat",
    "/v1/consultations": "invoke_agent",
    "/consultations": "invoke_agent",
}
UNTRACED_PATHS = ("/health", "/metrics")  # probes and scrapes: noise, every few seconds
# HTTP's methods; any other token a client sends is `_OTHER` (the HTTP conventions' rule).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


class Tracing:
    def __init__(self, config: TracingConfig, *, processor: SpanProcessor | None = None) -> None:
        """`processor`: where finished spans go instead of OTLP (the tests' in-memory exporter)."""
        self.enabled = config.enabled or processor is not None
        self._ratio = config.sample_ratio
        self._provider: TracerProvider | None = None
        if not self.enabled:
            self.tracer: Tracer = trace.NoOpTracer()
            return
        if processor is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=config.otlp_endpoint, headers=config.headers))
        self._provider = TracerProvider(
            resource=Resource.create({"service.name": config.service_name}),
            sampler=ParentBased(TraceIdRatioBased(config.sample_ratio)),
        )
        self._provider.add_span_processor(processor)
        self.tracer = self._provider.get_tracer("pearcare.serving")

    def shutdown(self) -> None:
        """Export what is left (at most the batch processor's timeout)."""
        if self._provider is not None:
            self._provider.shutdown()

    @contextmanager
    def request(self, method: str, headers: list[tuple[bytes, bytes]]) -> Iterator[Span]:
        """The request's span, current for everything the request runs; it continues the
        caller's traceparent, or the span already current (a consultation stage calling the app
        in-process)."""
        carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in headers if name == b"traceparent"}
        parent = _PROPAGATOR.extract(carrier) if carrier else None
        new_trace = parent is None and trace.get_current_span() is trace.INVALID_SPAN
        if new_trace and self._ratio < 1.0 and random.random() >= self._ratio:
            yield from self._unsampled()  # sampled out: the SDK's span machinery is skipped
            return
        # Named by its route at the end (describe_request): the path itself is the client's text.
        method = method if method in METHODS else "_OTHER"
        span = self.tracer.start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
            record_exception=False,
            set_status_on_exception=False,
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            yield span
        finally:
            otel_context.detach(token)
            span.end()

    @staticmethod
    def _unsampled() -> Iterator[Span]:
        """A new trace decided out (as TraceIdRatioBased would decide, on a random draw): ids
        only, so the backend is told "not sampled" and records nothing either."""
        span = trace.NonRecordingSpan(
            SpanContext(random.getrandbits(128), random.getrandbits(64), is_remote=False, trace_flags=TraceFlags(0))
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield span
        finally:
            otel_context.detach(token)

    def step(self, name: str, **attributes: Any) -> Span:
        """A child of the current span (end it, or use it as a context manager). An exception
        leaving it is not recorded: its message may quote the request (the model a client
        named, a value it sent); the request's span says how it ended. In a trace sampled out,
        none is made (the SDK would make a non-recording one: ids drawn, attributes built)."""
        if not trace.get_current_span().is_recording():
            return trace.INVALID_SPAN
        return self.tracer.start_span(
            name, attributes=attributes, record_exception=False, set_status_on_exception=False
        )

    def backend_attempt(
        self, operation: str, *, backend: str, provider: str, model: str, endpoint: str
    ) -> tuple[Span, dict[str, str]]:
        """The span of one attempt at one endpoint, and the headers that carry it there. In a
        trace sampled out, no span: the headers carry the request's (not sampled, so the backend
        records nothing either)."""
        carrier: dict[str, str] = {}
        if not trace.get_current_span().is_recording():
            _PROPAGATOR.inject(carrier)
            return trace.INVALID_SPAN, carrier
        host, _, port = endpoint.rpartition(":")
        span = self.tracer.start_span(
            f"{operation} {model}",
            kind=SpanKind.CLIENT,
            record_exception=False,
            set_status_on_exception=False,
            attributes={
                "gen_ai.operation.name": operation,
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": model,
                "server.address": host or endpoint,
                **({"server.port": int(port)} if port.isdigit() else {}),
                "pearcare.backend": backend,
            },
        )
        _PROPAGATOR.inject(carrier, trace.set_span_in_context(span))
        return span, carrier


def end_attempt(span: Span | None, outcome: str, status: int | None = None) -> None:
    if span is None:
        return
    span.set_attribute("pearcare.outcome", outcome)
    if status is not None:
        span.set_attribute("http.response.status_code", status)
    if outcome not in ("ok", "client_disconnected", "refused"):
        span.set_status(Status(StatusCode.ERROR))
        span.set_attribute("error.type", outcome)
    span.end()


def describe_request(span: Span, facts: Mapping[str, Any], *, route: str, status: int) -> None:
    """The request's facts on its span, as the GenAI and HTTP conventions name them."""
    method = facts["method"] if facts["method"] in METHODS else "_OTHER"
    span.update_name(f"{method} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if (operation := OPERATIONS.get(route)) is not None:
        span.set_attribute("gen_ai.operation.name", operation)
    for name, value in facts.items():
        if value is not None and name != "method":
            span.set_attribute(name, value)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
        span.set_attribute("error.type", str(status))
