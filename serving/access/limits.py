"""What a key's limits decide, in OpenAI's terms: the grant of an admitted request, the
x-ratelimit-* headers, and the 429 of a refused one. The decision itself is admit.lua."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from serving.errors import RateLimited


@functools.lru_cache(maxsize=8)
def day_name(day_number: int) -> str:
    """A UTC day (days since the epoch) as YYYYMMDD; formatted once a day, not per request."""
    return datetime.fromtimestamp(day_number * 86400, UTC).strftime("%Y%m%d")


def day_number(timestamp: float) -> int:
    return int(timestamp // 86400)


def duration(ms: int) -> str:
    """OpenAI's reset format: 1s, 6m0s, 12ms."""
    if ms < 1000:
        return f"{max(ms, 0)}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.3g}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest}s"


@dataclass(frozen=True, slots=True)
class Grant:
    """An admitted request: who, and what was charged up front."""

    key_id: str
    key_hash: str
    name: str
    models: frozenset[str] | None
    estimate: int
    bucket: int  # the store's second the estimate was charged to
    has_token_limit: bool
    has_daily_budget: bool
    headers: dict[str, str]
    refusal: RateLimited | None = None  # set when a limit refused the request
    day: int = 0  # the store's day of admission: settlement corrects that day's budget
    lease: str = ""  # the in-flight lease to release at settlement ('' when none was taken)
    allow_phi: frozenset[str] = frozenset()  # backends the key may send identifiers to unredacted
    allow_images: frozenset[str] = frozenset()  # backends the key may send images to
    priority: int = 0  # in a backend's queue: 0 interactive, 1 consultation, 2 batch
    allow_store: frozenset[str] = frozenset()  # backends that may keep the key's responses (Responses API)
    response_cache: bool = False  # the key opted in to the response cache

    def raise_if_refused(self) -> None:
        if self.refusal is not None:
            raise self.refusal

    def may_use(self, alias: str) -> bool:
        return self.models is None or alias in self.models


def models_of(raw: str) -> frozenset[str] | None:
    return None if raw == "*" else frozenset(raw.split(","))


PRIORITIES = {"interactive": 0, "consultation": 1, "batch": 2}


def priority_of(raw: str | None) -> int:
    return PRIORITIES.get(raw or "", 0)


def names_of(raw: str | None) -> frozenset[str]:
    return frozenset(name for name in (raw or "").split(",") if name)


def limit_headers(result: list[Any]) -> dict[str, str]:
    """OpenAI's x-ratelimit-* headers from admit.lua's result."""
    rpm, rpm_left, rpm_reset, tpm, tpm_left, tpm_reset = (int(v) for v in result[4:10])
    headers = {}
    if rpm:
        headers["x-ratelimit-limit-requests"] = str(rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(rpm_left, 0))
        headers["x-ratelimit-reset-requests"] = duration(rpm_reset)
    if tpm:
        headers["x-ratelimit-limit-tokens"] = str(tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(tpm_left, 0))
        headers["x-ratelimit-reset-tokens"] = duration(tpm_reset)
    return headers


def refusal(status: str, result: list[Any], estimate: int, headers: dict[str, str]) -> RateLimited:
    """The 429 for admit.lua's refusal `status`."""
    if status == "in_flight":
        return RateLimited(
            f"Too many requests in flight for this key: limit {result[14]}. Retry when one has finished.",
            type="requests",
            code="concurrency_limit_exceeded",
            headers={**headers, "retry-after": "1", "retry-after-ms": "1000"},
        )
    if status in ("requests", "tokens"):
        retry_ms = int(result[13])
        limit = result[4] if status == "requests" else result[7]
        return RateLimited(
            f"Rate limit reached for {status} per minute: limit {limit}. Try again in {duration(retry_ms)}.",
            type=status,
            headers={**headers, "retry-after": str(max(1, -(-retry_ms // 1000))), "retry-after-ms": str(retry_ms)},
        )
    if status == "too_large":
        return RateLimited(
            f"Request too large: it may use {estimate} tokens, above the key's limit of {result[7]} per minute. "
            "Lower max_tokens.",
            type="tokens",
            headers={**headers, "x-should-retry": "false"},
        )
    return RateLimited(
        "You exceeded your daily token budget.",
        type="insufficient_quota",
        code="insufficient_quota",
        headers={**headers, "x-should-retry": "false"},
    )
