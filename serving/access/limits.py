"""What a key's limits decide, in OpenAI's terms: the grant of an admitted request, the
x-ratelimit-* headers, and the 429 of a refused one. The decision itself is admit.lua."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic.fields import FieldInfo

from serving.access.periods import BudgetPeriods
from serving.access.prices import dollars
from serving.errors import RateLimited
from serving.settings import GRANT_FIELDS, PRIORITIES, KeySettings, kind_of
from serving.settings.tenants import TENANT_GRANT_FIELDS


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


def names_of(raw: str | None) -> frozenset[str]:
    return frozenset(name for name in (raw or "").split(",") if name)


def priority_of(raw: str | None) -> int:
    return PRIORITIES.index(raw) if raw in PRIORITIES else 0


@dataclass(frozen=True, slots=True)
class KeyGrants:
    """The GRANT settings as an admitted request carries them: backend lists as sets, the
    priority as its queue rank. Decoded from admit.lua's reply by GRANT_FIELDS' order."""

    allow_phi: frozenset[str] = frozenset()
    allow_images: frozenset[str] = frozenset()
    priority: int = 0
    allow_store: frozenset[str] = frozenset()
    response_cache: bool = False

    @classmethod
    def from_reply(cls, values: Sequence[str | None]) -> KeyGrants:
        """The GRANT settings' store strings, in GRANT_FIELDS' order; then, for a key with a
        tenant, the tenant's (TENANT_GRANT_FIELDS' order), which narrow the key's."""
        own = cls(*[decode(raw or "") for decode, raw in zip(_GRANT_DECODERS, values[:_OWN], strict=True)])
        if len(values) == _OWN:
            return own
        narrowed: dict[str, Any] = {}
        for name, raw in zip(TENANT_GRANT_FIELDS, values[_OWN:], strict=True):
            mine = getattr(own, name)
            narrowed[name] = mine and raw == "1" if isinstance(mine, bool) else mine & names_of(raw)
        return replace(own, **narrowed)


NO_GRANTS = KeyGrants()  # a key that allows nothing beyond the defaults


def _decoder(info: FieldInfo) -> Callable[[str], Any]:
    kind = kind_of(info)
    if kind == "list":
        return names_of
    if kind == "flag":
        return lambda text: text == "1"
    if kind == "choice":
        return priority_of  # the priority, the one choice
    raise TypeError(f"a grant setting of kind {kind!r} needs its decoder here")


_GRANT_DECODERS = tuple(_decoder(KeySettings.model_fields[name]) for name in GRANT_FIELDS)
_OWN = len(GRANT_FIELDS)


class Looked(NamedTuple):
    """admit.lua's reply to a look-up (ARGV[3] '0'), in its `return` order; the key's GRANT
    settings follow (serving/settings/keys.py)."""

    status: str
    key_id: str
    name: str
    models: str
    rpm: int
    tpm: int
    daily: int
    max_in_flight: int
    tenant: str
    tenant_models: str


class Charged(NamedTuple):
    """admit.lua's reply to a charge or a refusal, in its `return` order; the key's GRANT
    settings follow."""

    status: str
    key_id: str
    name: str
    models: str
    rpm: int
    rpm_left: int
    rpm_reset_ms: int
    tpm: int
    tpm_left: int
    tpm_reset_ms: int
    second: int
    daily: int
    daily_used: int
    retry_ms: int
    max_in_flight: int
    in_flight: int
    day: int
    tenant: str
    tenant_models: str
    budget_scope: str  # 'key' or 'tenant' when a budget refused the request, else ''
    budget_period: str  # 'day' or 'month'
    budget_nanos: int
    budget_spent_nanos: int


LOOKED = len(Looked._fields)
CHARGED = len(Charged._fields)


@dataclass(frozen=True, slots=True)
class Grant:
    """An admitted request: who, what was charged up front, and the key's GRANT settings."""

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
    grants: KeyGrants = NO_GRANTS  # what the key allows its requests: PHI, images, priority, store, cache
    tenant: str = ""  # the tenant (clinic) the key belongs to
    periods: BudgetPeriods | None = None  # the day and month its spend was reserved in
    reserved: int = 0  # nano-dollars reserved for it (the worst case): settlement corrects them

    def raise_if_refused(self) -> None:
        if self.refusal is not None:
            raise self.refusal

    def may_use(self, alias: str) -> bool:
        return self.models is None or alias in self.models


def models_of(raw: str, tenant_models: str = "*") -> frozenset[str] | None:
    """The aliases a key may use (None: all), within its tenant's."""
    own = None if raw == "*" else frozenset(raw.split(","))
    if tenant_models in ("*", ""):
        return own
    tenant = frozenset(tenant_models.split(","))
    return tenant if own is None else own & tenant


def limit_headers(reply: Charged) -> dict[str, str]:
    """OpenAI's x-ratelimit-* headers from admit.lua's reply."""
    rpm, rpm_left, rpm_reset, tpm, tpm_left, tpm_reset = reply[4:10]
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


_PERIODICAL = {"day": "daily", "month": "monthly"}


def refusal(reply: Charged, estimate: int, headers: dict[str, str], retry_after: int = 1) -> RateLimited:
    """The 429 for admit.lua's refusal (retry_after: seconds until a spent budget's period ends)."""
    status = reply.status
    if status == "in_flight":
        return RateLimited(
            f"Too many requests in flight for this key: limit {reply.max_in_flight}. Retry when one has finished.",
            type="requests",
            code="concurrency_limit_exceeded",
            headers={**headers, "retry-after": "1", "retry-after-ms": "1000"},
        )
    if status in ("requests", "tokens"):
        retry_ms = reply.retry_ms
        limit = reply.rpm if status == "requests" else reply.tpm
        return RateLimited(
            f"Rate limit reached for {status} per minute: limit {limit}. Try again in {duration(retry_ms)}.",
            type=status,
            headers={**headers, "retry-after": str(max(1, -(-retry_ms // 1000))), "retry-after-ms": str(retry_ms)},
        )
    if status == "too_large":
        return RateLimited(
            f"Request too large: it may use {estimate} tokens, above the key's limit of {reply.tpm} per minute. "
            "Lower max_tokens.",
            type="tokens",
            headers={**headers, "x-should-retry": "false"},
        )
    if status == "budget":
        whose = "API key" if reply.budget_scope == "key" else "tenant"
        return RateLimited(
            f"This {whose}'s {_PERIODICAL[reply.budget_period]} budget of "
            f"${dollars(reply.budget_nanos):.2f} would be exceeded: ${dollars(reply.budget_spent_nanos):.2f} is spent "
            "or reserved by requests in flight. It renews when the period ends.",
            type="insufficient_quota",
            code="budget_exceeded",
            headers={**headers, "retry-after": str(retry_after), "x-should-retry": "false"},
        )
    return RateLimited(
        "You exceeded your daily token budget.",
        type="insufficient_quota",
        code="insufficient_quota",
        headers={**headers, "x-should-retry": "false"},
    )
