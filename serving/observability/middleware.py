"""Per-request bookkeeping as plain ASGI middleware (BaseHTTPMiddleware would buffer streams):
request id in and out, the request's context; at its end the request metrics, one access-log
line, and the hand-over to settlement (serving/access/settlement.py does the billing)."""

from __future__ import annotations

import logging
import os
import re
import socket
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.access.settlement import Settlements
from serving.audit.records import is_audited, request_record
from serving.audit.writer import AuditWriter
from serving.context import RequestContext
from serving.errors import AuditUnavailable, render
from serving.observability.logs import request_id_var
from serving.observability.metrics import Metrics

# Not "serving.access": that is the package of keys and limits, whose loggers would nest under it.
log = logging.getLogger("serving.access_log")

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


def _routing_hints(scope: Scope, ctx: RequestContext) -> None:
    """x-session-id pins a conversation to a replica; x-pearcare-priority may lower a
    request's queue priority (the consultation's stages say `consultation`), never raise it."""
    for name, value in scope["headers"]:
        if name == b"x-session-id" and _SAFE_REQUEST_ID.match(value.decode("latin-1")):
            ctx.session_id = value.decode("latin-1")
        elif name == b"x-pearcare-priority":
            ctx.priority = max(ctx.priority, _PRIORITY_NAMES.get(value.strip().lower(), 0))


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, settlements: Settlements, audit: AuditWriter | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.settlements = settlements
        self.audit = audit
        self.instance = f"{socket.gethostname()}:{os.getpid()}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = RequestContext(request_id=_request_id(scope), started=time.perf_counter())
        _routing_hints(scope, ctx)
        scope.setdefault("state", {})["ctx"] = ctx
        token = request_id_var.set(ctx.request_id)
        request_id_header = (b"x-request-id", ctx.request_id.encode())
        status = 500
        audited = self.audit is not None and is_audited(scope["path"])

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(k.encode(), v.encode()) for k, v in ctx.response_headers.items()]
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
                self._finish(scope, ctx, status, audited=audited)
            finally:
                self.settlements.request_closed()
                request_id_var.reset(token)

    def _finish(self, scope: Scope, ctx: RequestContext, status: int, *, audited: bool) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        alias = ctx.alias or "none"
        duration = time.perf_counter() - ctx.started
        m = self.metrics
        m.requests.labels(route, alias, f"{status // 100}xx").inc()
        m.request_duration.labels(route, alias).observe(duration)
        if ctx.time_to_first_token is not None:
            m.time_to_first_token.labels(alias).observe(ctx.time_to_first_token)
        if ctx.inter_token_latency is not None:
            m.inter_token_latency.labels(alias).observe(ctx.inter_token_latency)
        if ctx.prompt_tokens:
            m.tokens.labels(alias, "prompt").inc(ctx.prompt_tokens)
        if ctx.completion_tokens:
            m.tokens.labels(alias, "completion").inc(ctx.completion_tokens)
        if ctx.outcome == "client_disconnected":
            m.client_disconnects.labels(alias).inc()
        self.settlements.settle_request(ctx, failed=status >= 400 or ctx.outcome != "ok")
        if audited and self.audit is not None:
            self.audit.record(
                request_record(
                    ctx, method=scope["method"], route=route, status=status, instance=self.instance, at=time.time()
                )
            )
        log.info(
            "request",
            extra={
                "method": scope["method"],
                "route": route,
                "status": status,
                "duration_ms": round(duration * 1000, 2),
                "alias": ctx.alias,
                "backend": ctx.backend,
                "key": ctx.key_name,
                "key_id": ctx.grant.key_id if ctx.grant else None,
                "prompt_tokens": ctx.prompt_tokens,
                "completion_tokens": ctx.completion_tokens,
                "tokens_estimated": ctx.tokens_estimated or None,
                "ttft_ms": None if ctx.time_to_first_token is None else round(ctx.time_to_first_token * 1000, 2),
                "outcome": ctx.outcome,
                "data_policy": ctx.data_policy,
                "phi": ctx.phi_counts or None,  # types and counts, never values
            },
        )
