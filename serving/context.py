"""What one request did, filled in as it goes and read once at its end (access log, metrics, usage)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from serving.ratelimit import Grant

Outcome = Literal["ok", "error", "client_disconnected", "upstream_failed"]


@dataclass(slots=True)
class RequestContext:
    request_id: str
    started: float
    alias: str | None = None
    backend: str | None = None
    key_name: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tokens_estimated: bool = False
    time_to_first_token: float | None = None
    inter_token_latency: float | None = None
    outcome: Outcome = "ok"
    grant: Grant | None = None
    prompt_estimate: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
