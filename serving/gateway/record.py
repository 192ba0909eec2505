"""What one request did, read once at its end (metrics, the access log, settlement, the audit
record: serving/gateway/finish.py).

Written by the gateway alone for a generation request: the entry (entry.py) creates it
(request id, routing hints), the pipeline fills it in from the facts the lower packages return
(the grant, the reply, the data policy); a stream's own facts are read from its relay when it
has ended.
Routes that generate nothing set the caller (serving/deps.py) and an admin action."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from starlette.types import Scope

from serving.settings import PRIORITIES

if TYPE_CHECKING:
    from serving.access.limits import Grant
    from serving.backends.relay import StreamRelay

RequestOutcome = Literal["ok", "error", "client_disconnected", "backend_failed"]

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # a client's x-request-id or x-session-id, kept
_PRIORITY_NAMES = {name.encode(): rank for rank, name in enumerate(PRIORITIES)}


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    started: float
    alias: str | None = None
    backend: str | None = None
    backend_model: str | None = None
    key_name: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0  # of the prompt's, billed at the cached input price
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
    # The stream being relayed: what it carried is read from it once it has ended.
    stream: StreamRelay | None = None
    # What an admin request did, for the audit trail (serving/routes/admin.py).
    audit_action: str | None = None
    audit_target: str | None = None

    @classmethod
    def from_scope(cls, scope: Scope) -> RequestRecord:
        """A request's record as it arrives: its id (the client's x-request-id when it is safe to
        echo, else a new one) and routing hints: x-session-id pins a conversation to a replica;
        x-pearcare-priority may lower a request's queue priority (the consultation's stages say
        `consultation`), never raise it."""
        record = cls(request_id="", started=time.perf_counter())
        for name, value in scope["headers"]:
            if name == b"x-request-id" and not record.request_id:
                candidate = value.decode("latin-1")
                record.request_id = candidate if _SAFE_ID.match(candidate) else uuid.uuid4().hex
            elif name == b"x-session-id" and _SAFE_ID.match(value.decode("latin-1")):
                record.session_id = value.decode("latin-1")
            elif name == b"x-pearcare-priority":
                record.priority = max(record.priority, _PRIORITY_NAMES.get(value.strip().lower(), 0))
        if not record.request_id:
            record.request_id = uuid.uuid4().hex
        return record

    def take_usage(self, usage: dict[str, Any]) -> None:
        """Chat and completions name them prompt/completion tokens, the Responses API input/output;
        cached prompt tokens are in their *_tokens_details (reasoning tokens are part of output)."""
        prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
        completion = usage.get("completion_tokens", usage.get("output_tokens"))
        self.prompt_tokens = prompt if isinstance(prompt, int) else None
        self.completion_tokens = completion if isinstance(completion, int) else 0
        details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        self.cached_tokens = cached if isinstance(cached, int) and cached > 0 else 0

    def trace_facts(self) -> dict[str, Any]:
        """What the request's span says of it (serving/observability/tracing.py): names, counts
        and outcomes, never text. None values are left off."""
        return {
            "gen_ai.request.model": self.alias,
            "gen_ai.response.model": self.backend_model,
            "gen_ai.usage.input_tokens": self.prompt_tokens,
            "gen_ai.usage.output_tokens": self.completion_tokens,
            "pearcare.backend": self.backend,
            "pearcare.outcome": self.outcome,
            "pearcare.data_policy": self.data_policy,
            "pearcare.identifiers_detected": sum(self.phi_counts.values()) if self.phi_counts else None,
        }  # not the request id: a client's x-request-id is its own text

    def take_stream(self) -> None:
        """What the relayed stream carried, once it has ended (or was never read: closed now)."""
        relay = self.stream
        if relay is None:
            return
        self.stream = None
        relay.close()  # a no-op for a stream that ended; a response never sent still holds one
        if relay.abandoned:  # admission refused it after it left: nothing of it counts
            return
        if relay.failed:
            self.outcome = "backend_failed"
        elif not relay.completed:
            self.outcome = "client_disconnected"
        self.time_to_first_token = relay.time_to_first_event
        self.inter_token_latency = relay.mean_event_gap
        if relay.usage is not None:
            self.take_usage(relay.usage)
        else:
            # An interrupted stream gets no usage chunk: each content event is one token
            # (vLLM streams token by token).
            self.completion_tokens = relay.estimated_tokens
            self.tokens_estimated = True
