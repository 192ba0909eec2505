"""Every HTTP request's start and end, in front of the app: its record (request id, routing
hints), the request id and the record's headers on the response, the refusal of audited
routes while the audit trail can't record (503), and finish.py at its end. The generation
endpoints are served here directly (endpoints.py); every other route goes on to FastAPI."""

from __future__ import annotations

from opentelemetry.trace import Span
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.access.settlement import Settlements
from serving.audit.records import is_audited
from serving.audit.writer import AuditWriter
from serving.errors import APIError, AuditUnavailable, render, render_unexpected
from serving.gateway.endpoints import GenerationEndpoints
from serving.gateway.event_stream import EventStream
from serving.gateway.finish import Finisher
from serving.gateway.record import RequestRecord
from serving.observability.logs import request_id_var
from serving.observability.metrics import Metrics
from serving.observability.tracing import UNTRACED_PATHS, Tracing, describe_request


class RequestEntry:
    def __init__(
        self,
        app: ASGIApp,
        *,
        generation: GenerationEndpoints,
        metrics: Metrics,
        settlements: Settlements,
        audit: AuditWriter | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._app = app
        self._tracing = tracing
        self._generation = generation
        self._metrics = metrics
        self._settlements = settlements
        self._audit = audit
        self._finisher = Finisher(metrics=metrics, settlements=settlements, audit=audit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        record = RequestRecord.from_scope(scope)
        scope.setdefault("state", {})["record"] = record
        if self._tracing is not None and not scope["path"].startswith(UNTRACED_PATHS):
            with self._tracing.request(scope["method"], scope["headers"]) as span:
                await self._handle(scope, receive, send, record, span)
        else:
            await self._handle(scope, receive, send, record, None)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, record: RequestRecord, span: Span | None
    ) -> None:
        token = request_id_var.set(record.request_id)
        request_id_header = (b"x-request-id", record.request_id.encode())
        status = 500
        audited = self._audit is not None and is_audited(scope["path"])
        generation_route = self._generation.route(scope)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(k.encode(), v.encode()) for k, v in record.response_headers.items()]
                message["headers"] = [*message.get("headers", ()), request_id_header, *extra]
            await send(message)

        self._settlements.request_opened()
        try:
            if audited and self._audit is not None and not self._audit.accepting:
                refusal = AuditUnavailable(
                    "The service can't record an audit trail right now, so it serves no requests. Retry shortly."
                )
                audited = False  # counted, not recorded: a flood of these must not fill the spool further
                self._metrics.audit_records.labels("refused_request").inc()
                await render(refusal)(scope, receive, send_with_id)
            elif generation_route is not None:
                await self._serve_generation(generation_route, scope, receive, send_with_id, send, record)
            else:
                await self._app(scope, receive, send_with_id)
        finally:
            try:
                route = generation_route or getattr(scope.get("route"), "path", None) or "unmatched"
                self._finisher.finish(record, method=scope["method"], route=route, status=status, audited=audited)
                if span is not None and span.is_recording():
                    describe_request(
                        span, {"method": scope["method"], **record.trace_facts()}, route=route, status=status
                    )
            finally:
                self._settlements.request_closed()
                request_id_var.reset(token)

    async def _serve_generation(
        self, route: str, scope: Scope, receive: Receive, send: Send, server_send: Send, record: RequestRecord
    ) -> None:
        """send: with the request id and the record's headers; server_send: the server's own,
        which a stream's events take (no wrapper per token)."""
        try:
            response = await self._generation.respond(route, scope, receive, record)
        except APIError as error:
            response = render(error)
        except Exception as exc:  # as FastAPI's last-resort handler answers for its own routes
            response = render_unexpected(exc)
        if isinstance(response, EventStream):
            await response.send_to(receive, start=send, body=server_send)
        else:
            await response(scope, receive, send)
