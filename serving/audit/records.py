"""What one audit record says: who (key id and name), what (route, alias, backend, model),
when, the outcome and status, the tokens, the data policy applied and the identifier types
and counts detected, the request id. Never prompt or completion text, never an identifier."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

AUDITED_PREFIXES = ("/v1/", "/admin/")


def is_audited(path: str) -> bool:
    return path.startswith(AUDITED_PREFIXES)


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
