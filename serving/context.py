"""What one request did, filled in as it goes and read once at its end (access log, metrics, usage).

Who writes what: the middleware creates it; admission (serving/generation.py or the caller
dependency) sets the key and alias; the proxy sets the backend and what the stream carried."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from serving.access.limits import Grant
    from serving.privacy.policy import Screened

RequestOutcome = Literal["ok", "error", "client_disconnected", "backend_failed"]


@dataclass(slots=True)
class RequestContext:
    request_id: str
    started: float
    alias: str | None = None
    backend: str | None = None
    backend_model: str | None = None
    key_name: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_estimated: bool = False
    time_to_first_token: float | None = None
    inter_token_latency: float | None = None
    outcome: RequestOutcome = "ok"
    grant: Grant | None = None
    prompt_estimate: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    # Routing among a backend's replicas (serving/backends/): the conversation a request
    # belongs to (x-session-id), and its queue priority (0 interactive, 1 consultation, 2 batch).
    session_id: str | None = None
    priority: int = 0
    # Patient data: the policy applied to the backend that served (or refused), and the types
    # and counts of identifiers detected, never their values (serving/privacy/policy.py).
    data_policy: str | None = None
    phi_counts: dict[str, int] | None = None
    screened: Screened | None = None
    # What an admin request did, for the audit trail (serving/routes/admin.py).
    audit_action: str | None = None
    audit_target: str | None = None
