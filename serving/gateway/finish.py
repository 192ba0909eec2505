"""The end of every request, in one place: what its stream carried taken onto its record, then
the request metrics, settlement (real usage replaces the estimate: serving/access/settlement.py),
the audit record (serving/audit/) and one access-log line. Never a prompt or completion text."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from serving.access.settlement import Settlements
from serving.audit.writer import AuditWriter
from serving.gateway.record import RequestRecord
from serving.observability.metrics import Metrics

# Not "serving.access": that is the package of keys and limits, whose loggers would nest under it.
log = logging.getLogger("serving.access_log")


class Finisher:
    def __init__(self, *, metrics: Metrics, settlements: Settlements, audit: AuditWriter | None = None) -> None:
        self._metrics = metrics
        self._settlements = settlements
        self._audit = audit
        self._instance = f"{socket.gethostname()}:{os.getpid()}"

    def finish(self, record: RequestRecord, *, method: str, route: str, status: int, audited: bool) -> None:
        record.take_stream()
        duration = time.perf_counter() - record.started
        self._count(record, route, status, duration)
        self._settle(record, failed=status >= 400 or record.outcome != "ok")
        if audited and self._audit is not None:
            self._audit.record(audit_record(record, method=method, route=route, status=status, instance=self._instance))
        log.info(
            "request",
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(duration * 1000, 2),
                "alias": record.alias,
                "backend": record.backend,
                "key": record.key_name,
                "key_id": record.grant.key_id if record.grant else None,
                "prompt_tokens": record.prompt_tokens,
                "completion_tokens": record.completion_tokens,
                "tokens_estimated": record.tokens_estimated or None,
                "ttft_ms": None if record.time_to_first_token is None else round(record.time_to_first_token * 1000, 2),
                "outcome": record.outcome,
                "data_policy": record.data_policy,
                "phi": record.phi_counts or None,  # types and counts, never values
            },
        )

    def _count(self, record: RequestRecord, route: str, status: int, duration: float) -> None:
        alias = record.alias or "none"
        m = self._metrics
        m.requests.labels(route, alias, f"{status // 100}xx").inc()
        m.request_duration.labels(route, alias).observe(duration)
        if record.time_to_first_token is not None:
            m.time_to_first_token.labels(alias).observe(record.time_to_first_token)
        if record.inter_token_latency is not None:
            m.inter_token_latency.labels(alias).observe(record.inter_token_latency)
        if record.prompt_tokens:
            m.tokens.labels(alias, "prompt").inc(record.prompt_tokens)
        if record.completion_tokens:
            m.tokens.labels(alias, "completion").inc(record.completion_tokens)
        if record.outcome == "client_disconnected":
            m.client_disconnects.labels(alias).inc()

    def _settle(self, record: RequestRecord, *, failed: bool) -> None:
        """A request admitted for generation (its grant set) is settled, whatever its end."""
        if record.grant is None or record.alias is None:
            return
        if record.prompt_tokens is None and record.tokens_estimated:
            record.prompt_tokens = record.prompt_estimate  # abandoned stream: no usage chunk came
        self._settlements.settle_later(
            record.grant,
            alias=record.alias,
            prompt=record.prompt_tokens or 0,
            completion=record.completion_tokens or 0,
            failed=failed,
            backend=record.backend,
            cached=record.cached_tokens,
            estimated=record.tokens_estimated,
        )


def audit_record(record: RequestRecord, *, method: str, route: str, status: int, instance: str) -> dict[str, Any]:
    """The audit trail's record of a request: who, what, when, the outcome, the tokens, the data
    policy and the identifier types and counts (serving/audit/records.py says what it holds)."""
    grant = record.grant
    admin = route.startswith("/admin/")
    entry: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "ts": datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds"),
        "kind": "admin" if admin else "request",
        "request_id": record.request_id,
        "key_id": grant.key_id if grant else None,
        "key_name": record.key_name or ("admin" if admin and status < 400 else None),
        "method": method,
        "route": route,
        "alias": record.alias,
        "backend": record.backend,
        "model": record.backend_model,
        "status": status,
        "outcome": record.outcome if status < 400 or record.outcome != "ok" else "error",
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "data_policy": record.data_policy,
        "phi": record.phi_counts or {},
        "instance": instance,
    }
    if record.audit_action is not None:
        entry["action"] = record.audit_action
        entry["target"] = record.audit_target
    return entry
