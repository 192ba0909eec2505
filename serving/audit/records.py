"""What one audit record says: who (key id and name), what (route, alias, backend, model),
when, the outcome and status, the tokens, the data policy applied and the identifier types
and counts detected, the request id. Never prompt or completion text, never an identifier."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from serving.context import RequestContext

AUDITED_PREFIXES = ("/v1/", "/admin/")


def is_audited(path: str) -> bool:
    return path.startswith(AUDITED_PREFIXES)


def request_record(
    ctx: RequestContext, *, method: str, route: str, status: int, instance: str, at: float
) -> dict[str, Any]:
    grant = ctx.grant
    record: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "ts": datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds"),
        "kind": "admin" if route.startswith("/admin/") else "request",
        "request_id": ctx.request_id,
        "key_id": grant.key_id if grant else None,
        "key_name": ctx.key_name or ("admin" if route.startswith("/admin/") and status < 400 else None),
        "method": method,
        "route": route,
        "alias": ctx.alias,
        "backend": ctx.backend,
        "model": ctx.backend_model,
        "status": status,
        "outcome": ctx.outcome if status < 400 or ctx.outcome != "ok" else "error",
        "prompt_tokens": ctx.prompt_tokens,
        "completion_tokens": ctx.completion_tokens,
        "data_policy": ctx.data_policy,
        "phi": ctx.phi_counts or {},
        "instance": instance,
    }
    if ctx.audit_action is not None:
        record["action"] = ctx.audit_action
        record["target"] = ctx.audit_target
    return record


def cli_record(action: str, target: str | None, *, instance: str, at: float) -> dict[str, Any]:
    """An administrative action taken with `python -m serving keys` (not through the API)."""
    return {
        "id": uuid.uuid4().hex,
        "ts": datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds"),
        "kind": "admin",
        "request_id": None,
        "key_id": None,
        "key_name": "cli",
        "method": None,
        "route": "cli:keys",
        "status": 0,
        "outcome": "ok",
        "action": action,
        "target": target,
        "phi": {},
        "instance": instance,
    }
