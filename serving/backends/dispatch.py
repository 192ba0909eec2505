"""A request as the proxy sends it and what sending did: the Dispatch (with the API it speaks,
serving/backends/wire.py), the ProxyReply; the body's encoding and a JSON answer's usage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from serving.backends.relay import StreamRelay
from serving.backends.wire import WireApi
from serving.errors import APIError, InvalidRequest
from serving.privacy.policy import DataPolicy, Screening

if TYPE_CHECKING:
    from serving.access.limits import Grant


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One request as the proxy sends it."""

    api: WireApi
    alias: str
    body: dict[str, Any]
    stream: bool
    forward_usage: bool  # the client gets the stream's usage event
    request_id: str
    started: float  # perf_counter at the request's start: the time to first token counts from it
    grant: Grant | None
    session_id: str | None = None  # x-session-id: a conversation stays on one replica
    priority: int = 0


@dataclass(slots=True)
class ProxyReply:
    """What sending did: who answered and with what, the data policy applied, and the error
    when no backend could serve (the caller raises it)."""

    backend: str | None = None
    backend_model: str | None = None
    body: bytes | None = None
    relay: StreamRelay | None = None
    usage: dict[str, Any] | None = None  # a JSON answer's usage (a stream's is on its relay)
    data_policy: DataPolicy | None = None  # the policy of the backend that served or refused last
    screening: Screening | None = None  # the body's screening: run once, when a backend's policy first needs it
    error: APIError | None = None


def encode(payload: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(payload)
    except orjson.JSONEncodeError as exc:  # nested deeper than orjson writes (254 levels)
        raise InvalidRequest(
            f"The request could not be forwarded: {exc}. Nest JSON values less deeply.",
            param=_deepest_field(payload),
            code="invalid_value",
        ) from None


def _deepest_field(payload: dict[str, Any]) -> str | None:
    """The top-level field nested deepest (only on the error path: it walks the whole body)."""

    def depth(value: Any) -> int:
        deepest, level, stack = 0, 0, [(value, 1)]
        while stack:
            node, level = stack.pop()
            deepest = max(deepest, level)
            if isinstance(node, dict):
                stack.extend((child, level + 1) for child in node.values())
            elif isinstance(node, list):
                stack.extend((child, level + 1) for child in node)
        return deepest

    if not payload:
        return None
    return max(payload, key=lambda field: depth(payload[field]))


def usage_of(raw: bytes) -> dict[str, Any] | None:
    """A JSON answer's `usage` object, if it has one."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(payload, dict) and isinstance(payload.get("usage"), dict):
        return payload["usage"]  # type: ignore[no-any-return]
    return None
