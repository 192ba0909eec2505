"""Every request's start and end, as plain ASGI middleware (BaseHTTPMiddleware would buffer
streams): the request id in and out and the request's record; at its end, finish.py. While the
audit trail can't record, audited routes are refused here (503) before anything runs."""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.access.settlement import Settlements
from serving.audit.records import is_audited
from serving.audit.writer import AuditWriter
from serving.errors import AuditUnavailable, render
from serving.gateway.finish import Finisher
from serving.gateway.record import RequestRecord
from serving.observability.logs import request_id_var
from serving.observability.metrics import Metrics

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SAFE_REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


_PRIORITY_NAMES = {b"interactive": 0, b"consultation": 1, b"batch": 2}


def _routing_hints(scope: Scope, record: RequestRecord) -> None:
    """x-session-id pins a conversation to a replica; x-pearcare-priority may lower a
    request's queue priority (the consultation's stages say `consultation`), never raise it."""
    for name, value in scope["headers"]:
        if name == b"x-session-id" and _SAFE_REQUEST_ID.match(value.decode("latin-1")):
            record.session_id = value.decode("latin-1")
        elif name == b"x-pearcare-priority":
            record.priority = max(record.priority, _PRIORITY_NAMES.get(value.strip().lower(), 0))


class RequestRecordMiddleware:
    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, settlements: Settlements, audit: AuditWriter | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.settlements = settlements
        self.audit = audit
        self.finisher = Finisher(metrics=metrics, settlements=settlements, audit=audit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(request_id=_request_id(scope), started=time.perf_counter())
        _routing_hints(scope, record)
        scope.setdefault("state", {})["record"] = record
        token = request_id_var.set(record.request_id)
        request_id_header = (b"x-request-id", record.request_id.encode())
        status = 500
        audited = self.audit is not None and is_audited(scope["path"])

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(k.encode(), v.encode()) for k, v in record.response_headers.items()]
                message["headers"] = [*message.get("headers", ()), request_id_header, *extra]
            await send(message)

        self.settlements.request_opened()
        try:
            if audited and self.audit is not None and not self.audit.accepting:
                refusal = AuditUnavailable(
                    "The service can't record an audit trail right now, so it serves no requests. Retry shortly."
                )
                audited = False  # counted, not recorded: a flood of these must not fill the spool further
                self.metrics.audit_records.labels("refused_request").inc()
                await render(refusal)(scope, receive, send_with_id)
                return
            await self.app(scope, receive, send_with_id)
        finally:
            try:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                self.finisher.finish(record, method=scope["method"], route=route, status=status, audited=audited)
            finally:
                self.settlements.request_closed()
                request_id_var.reset(token)
