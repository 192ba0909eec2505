"""The `backends:` section: one OpenAI-protocol server each, its timeouts, discovery, breaker and queue."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from serving.settings.pricing import Pricing


class Timeouts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    connect: float = Field(3.0, gt=0, description="TCP connect to the upstream, seconds")
    read: float = Field(600.0, gt=0, description="longest silence from the upstream, seconds")
    first_byte: float | None = Field(
        None,
        gt=0,
        description="streaming requests: longest wait for the response's headers, seconds (vLLM sends them at "
        "once); an endpoint that accepts connections and sends nothing is failed over and its breaker told. A "
        "non-streaming answer's headers come with its last token: the read timeout bounds those",
    )


class DnsDiscovery(BaseModel):
    """A headless Service's DNS name: one address per ready replica, re-resolved periodically."""

    model_config = ConfigDict(extra="forbid")
    host: str
    port: int = Field(8000, ge=1, le=65535)
    scheme: Literal["http", "https"] = "http"
    path: str = "/v1"
    interval_seconds: float = Field(10.0, gt=0)


class BreakerConfig(BaseModel):
    """Per endpoint; it stays open for the backend's cooldown_seconds, then lets probes through."""

    model_config = ConfigDict(extra="forbid")
    consecutive_failures: int = Field(1, ge=1, description="1: any failure cools the endpoint down")
    error_rate: float = Field(0.5, gt=0, le=1)
    min_requests: int = Field(20, ge=1, description="outcomes in the window before error_rate counts")
    window_seconds: float = Field(10.0, gt=0)
    half_open_probes: int = Field(1, ge=1)


class ConcurrencyConfig(BaseModel):
    """Admission control per endpoint: past the cap, requests queue (bounded, by priority)."""

    model_config = ConfigDict(extra="forbid")
    max_in_flight_per_endpoint: int = Field(0, ge=0, description="0: no cap, no queue")
    queue_size: int = Field(256, ge=0, description="requests waiting for an endpoint, per backend")
    max_wait_seconds: float = Field(10.0, gt=0)


class BackendConfig(BaseModel):
    """One OpenAI-protocol upstream and what must be translated for it."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["vllm", "openai"]
    base_url: str
    model: str
    api_key: str | None = None
    message_format: Literal["openai", "gemma3"] = "openai"
    rename_params: dict[str, str] = Field(default_factory=dict)
    drop_params: list[str] = Field(default_factory=list)
    force_params: dict[str, Any] = Field(
        default_factory=dict, description="chat values always sent, whatever the client asked (added to the kind's)"
    )
    allow_params: list[str] = Field(
        default_factory=list,
        description="parameters the kind drops or forces by default that this backend may receive as sent",
    )
    timeouts: Timeouts = Timeouts()
    max_connections: int = Field(1000, ge=1)
    cooldown_seconds: float = Field(5.0, ge=0, description="an endpoint's breaker stays open this long")
    endpoints: list[str] = Field(
        default_factory=list, description="more replicas serving the same model beside base_url (a replica group)"
    )
    discovery: DnsDiscovery | None = Field(None, description="replicas from DNS (base_url serves until it answers)")
    balancing: Literal["least_request", "round_robin"] = "least_request"
    prefix_affinity: bool = Field(True, description="a shared prompt prefix goes to the same replica (bounded)")
    affinity_bound: float = Field(
        1.1,
        ge=1.0,
        description="a replica keeps its keys while under bound × average load (1.1: measured best in "
        "loadtests.bench's replicas part; 1.25 kept the same hit rate but lost 3 points of throughput)",
    )
    scrape_load_seconds: float = Field(2.0, ge=0, description="vllm: read each replica's /metrics this often (0: off)")
    breaker: BreakerConfig = BreakerConfig()
    concurrency: ConcurrencyConfig = ConcurrencyConfig()
    pricing: Pricing | None = Field(
        None, description="what its tokens cost, for budgets and spend reports (none: its tokens cost nothing)"
    )
    data_policy: Literal["allow", "redact", "block"] | None = Field(
        None,
        description="what patient identifiers may reach this backend: allow (self-hosted or under a BAA), redact "
        "(placeholders out, originals restored in the response) or block (400 phi_not_allowed); "
        "default allow for vllm, redact for openai",
    )

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("endpoints")
    @classmethod
    def _endpoint_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"endpoint {url!r} must start with http:// or https://")
        return [url.rstrip("/") for url in value]

    @property
    def base_urls(self) -> list[str]:
        return list(dict.fromkeys([self.base_url, *self.endpoints]))

    @property
    def requires_api_key(self) -> bool:
        return self.kind == "openai"

    @property
    def policy(self) -> Literal["allow", "redact", "block"]:
        if self.data_policy is not None:
            return self.data_policy
        return "allow" if self.kind == "vllm" else "redact"

    @property
    def forced_params(self) -> dict[str, Any]:
        kind = {k: v for k, v in _FORCED_BY_KIND[self.kind].items() if k not in self.allow_params}
        return {**kind, **self.force_params}

    @property
    def dropped_params(self) -> frozenset[str]:
        return frozenset(self.drop_params) | (_DROPPED_BY_KIND[self.kind] - frozenset(self.allow_params))


# Data that must not leave for a third party by default. OpenAI keeps prompts and completions
# of `store: true` requests in the organisation's dashboard (PHI retention); `service_tier`
# changes what is billed; `metadata` and `user` carry identifiers to OpenAI's logs.
_FORCED_BY_KIND: dict[str, dict[str, Any]] = {"openai": {"store": False}, "vllm": {}}
_DROPPED_BY_KIND: dict[str, frozenset[str]] = {
    "openai": frozenset({"service_tier", "metadata", "user", "safety_identifier", "prompt_cache_key"}),
    "vllm": frozenset(),
}
