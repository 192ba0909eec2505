"""Typed configuration: process settings from the environment plus the YAML config file, loaded once."""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from serving.access.grants import check_models

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "configs" / "serving.yaml"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """The config file is unreadable or invalid; the message says where."""


class _Missing:
    """Marks a value whose ${VAR} was unset: a disabled backend or key, not a crash."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


def substitute_env(node: Any, env: Mapping[str, str]) -> Any:
    """Replace ${VAR} and ${VAR:-default} in every string of a parsed YAML tree.

    Done after parsing, so a secret's characters can never change the YAML's structure.
    A string referring to an unset variable with no default becomes MISSING.
    """
    if isinstance(node, dict):
        return {key: substitute_env(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [substitute_env(value, env) for value in node]
    if not isinstance(node, str) or "${" not in node:
        return node
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is None or value == "":
            if default is None:
                missing = True
                return ""
            return default
        return value

    result = _ENV_REF.sub(replace, node)
    return MISSING if missing else result


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


class StaticKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=20)
    name: str = "static"
    models: list[str] = Field(default_factory=lambda: ["*"])
    rpm: int = Field(0, ge=0, description="requests per minute, 0 = unlimited")
    tpm: int = Field(0, ge=0, description="tokens per minute, 0 = unlimited")
    daily_tokens: int = Field(0, ge=0)
    max_in_flight: int = Field(0, ge=0, description="requests at once, 0 = unlimited")
    allow_phi: list[str] = Field(
        default_factory=list,
        description="backends this key may send patient identifiers to unredacted (the tenant's own BAA covers them)",
    )
    allow_images: list[str] = Field(default_factory=list, description="backends this key may send images to")
    priority: Literal["interactive", "consultation", "batch"] = Field(
        "interactive", description="its requests' place in a backend's queue when replicas are at capacity"
    )
    allow_store: list[str] = Field(
        default_factory=list,
        description="backends that may keep this key's responses (Responses API `store`, previous_response_id, "
        "background); elsewhere `store: false` is forced",
    )
    response_cache: bool = Field(False, description="deterministic requests may be answered from the response cache")

    @field_validator("models")
    @classmethod
    def _models(cls, value: list[str]) -> list[str]:
        return check_models(value)


class StoreConfig(BaseModel):
    """Keys, limits and usage live in Redis; without redis_url, in-process (single instance only)."""

    model_config = ConfigDict(extra="forbid")
    redis_url: str | None = None
    failure_policy: Literal["open", "closed"] = "closed"
    max_connections: int = Field(
        64,
        ge=1,
        description="Redis connections per process for key look-ups, usage, audit and the cache (admission and "
        "settlement share one pipelined connection); more concurrent calls wait for one (pool_timeout)",
    )
    pool_timeout: float = Field(1.0, gt=0, description="longest wait for a free Redis connection, seconds")
    default_max_tokens: int = Field(
        1024,
        ge=1,
        le=1_000_000,
        description="charged up front and sent to the backend when a request names no cap; it must fit the "
        "smallest context of the backends (prompt included), and a reasoning model (GPT-5) thinks within it",
    )
    admin_key: str | None = Field(None, min_length=20)
    overlap_admission: bool = Field(
        True,
        description="streams to self-hosted backends (vllm, data policy allow, no concurrency cap) leave before "
        "admission returns; a refusal cancels them before any byte reaches the client",
    )
    allow_unauthenticated_store: bool = Field(
        False, description="accept a redis_url without credentials (a development Redis on this machine)"
    )
    verified_key_seconds: float = Field(
        300.0,
        gt=0,
        description="how long a key the store accepted is remembered: it skips the look-up that refuses unknown "
        "keys before their body is read, and failure_policy open serves only such keys during an outage",
    )

    @model_validator(mode="after")
    def _store_needs_credentials(self) -> StoreConfig:
        # Any pod or container that can reach an unauthenticated Redis can read usage, rewrite
        # limits or insert a key record: the façade's own auth would be only as strong as that.
        if self.redis_url and not self.allow_unauthenticated_store:
            url = urlsplit(self.redis_url)
            if url.scheme in ("redis", "rediss") and not url.password:
                raise ValueError(
                    "store.redis_url has no credentials: use redis://:PASSWORD@host:port/0 (or user:password for "
                    "an ACL user; rediss:// for TLS), or set store.allow_unauthenticated_store: true for a "
                    "development Redis"
                )
        return self


class AuditConfig(BaseModel):
    """The audit trail (serving/audit/): one record per API and admin request, hash-chained."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    retention_days: float = Field(
        90,
        ge=0,
        description="records older than this leave the store (0 = never); export them first for the "
        "six years HIPAA asks of documentation",
    )
    spool_dir: Path = Field(
        Path(tempfile.gettempdir()) / f"pearcare-audit-spool-{os.getuid()}",
        description="where records wait while the store is down: a persistent volume in production",
    )
    spool_max_bytes: int = Field(
        64 * 1024 * 1024, ge=4096, description="past this, with the store down, API requests are refused (503)"
    )
    batch_size: int = Field(500, ge=1, le=10_000)
    flush_interval_seconds: float = Field(0.2, gt=0, le=10)
    chain_key: str | None = Field(
        None, min_length=16, description="keys the hash chain (HMAC-SHA256); kept out of Redis, needed by verify"
    )


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_request_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    graceful_shutdown_seconds: float = Field(30.0, ge=0, description="how long running streams may finish")
    workers: int = Field(1, ge=1, le=64, description="worker processes; >1 uses Prometheus multiprocess mode")
    probe_interval_seconds: float = Field(5.0, gt=0, description="how often readiness probes backends and store")
    request_id_secret: str | None = Field(
        None,
        min_length=16,
        description="keys the request-id pseudonyms sent to redact/block backends (HMAC); default: per process",
    )
    screening_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="the longest a request waits to be screened for identifiers (then 503)"
    )
    api_docs: bool = Field(False, description="serve /docs and /openapi.json (they list every route, admin too)")
    metrics_token: str | None = Field(
        None, min_length=16, description="if set, /metrics needs `Authorization: Bearer <token>`"
    )
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="if set, /metrics is served on this port only, not beside the API"
    )


class ImagesConfig(BaseModel):
    """Images in requests (serving/images.py): inline data: URLs within limits; remote URLs only
    from allowed hosts (vLLM fetches what it is given: an SSRF hole otherwise)."""

    model_config = ConfigDict(extra="forbid")
    max_image_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="one decoded data: image")
    max_images_per_request: int = Field(4, ge=0, le=64, description="keep <= vLLM's --limit-mm-per-prompt")
    max_request_image_bytes: int = Field(
        8 * 1024 * 1024,
        ge=1024,
        description="all decoded data: images of one request (server.max_request_bytes bounds it too)",
    )
    allowed_url_hosts: list[str] = Field(
        default_factory=list,
        description="hosts whose http(s) image URLs may be passed on (`*.example.org` for a domain); "
        "empty: inline images only",
    )
    tokens_per_image: int = Field(
        256, ge=0, description="charged up front per image (MedGemma/Gemma 3 encode an image as 256 tokens)"
    )


class CacheConfig(BaseModel):
    """The response cache (serving/cache.py), in the store. Opt-in per key and per request."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    ttl_seconds: int = Field(3600, ge=1, description="how long an answer is kept")
    max_entry_bytes: int = Field(1024 * 1024, ge=1024, description="larger answers are not kept")


class ConsultationConfig(BaseModel):
    """The consultation pipeline: which model alias serves each stage, and the provider directory."""

    model_config = ConfigDict(extra="forbid")
    stages: dict[str, str] = Field(
        default_factory=lambda: {"intake": "gpt-5", "icd": "medgemma", "cpt": "medgemma", "summary": "gpt-5"}
    )
    providers_file: Path = Path("providers.json")  # relative to the config file's folder

    @model_validator(mode="after")
    def _every_stage(self) -> ConsultationConfig:
        wanted = {"intake", "icd", "cpt", "summary"}
        if set(self.stages) != wanted:
            raise ValueError(f"consultation.stages: name exactly the stages {sorted(wanted)}")
        return self


class ServingConfig(BaseModel):
    """The YAML file: server, backends, model aliases, static keys."""

    model_config = ConfigDict(extra="forbid")
    server: ServerConfig = ServerConfig()
    backends: dict[str, BackendConfig]
    models: dict[str, list[str]]
    keys: list[StaticKey] = Field(default_factory=list)
    store: StoreConfig = StoreConfig()
    consultation: ConsultationConfig | None = None  # absent: no consultation endpoints
    audit: AuditConfig = AuditConfig()
    images: ImagesConfig = ImagesConfig()
    cache: CacheConfig = CacheConfig()

    @model_validator(mode="after")
    def _consultation_stages_use_known_aliases(self) -> ServingConfig:
        if self.consultation is not None:
            unknown = sorted(set(self.consultation.stages.values()) - set(self.models))
            if unknown:
                raise ValueError(f"consultation.stages: unknown model alias(es) {unknown}")
        return self

    @model_validator(mode="after")
    def _static_key_names_are_unique(self) -> ServingConfig:
        names = [key.name for key in self.keys]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"keys: name each key once (repeated: {repeated}); the name is the key's id")
        return self

    @model_validator(mode="after")
    def _key_grants_name_known_backends(self) -> ServingConfig:
        for key in self.keys:
            unknown = sorted(set(key.allow_phi + key.allow_images + key.allow_store) - set(self.backends))
            if unknown:
                raise ValueError(
                    f"keys.{key.name}: allow_phi/allow_images/allow_store name unknown backend(s) {unknown}"
                )
        return self

    @model_validator(mode="after")
    def _aliases_name_known_backends(self) -> ServingConfig:
        for alias, names in self.models.items():
            if not names:
                raise ValueError(f"models.{alias}: lists no backend")
            unknown = [name for name in names if name not in self.backends]
            if unknown:
                raise ValueError(f"models.{alias}: unknown backend(s) {unknown}")
        return self


def _drop_missing(raw: dict[str, Any]) -> dict[str, Any]:
    """Disable backends and keys whose secrets are unset, with a log line each."""
    backends = {}
    for name, backend in (raw.get("backends") or {}).items():
        api_key = backend.get("api_key") if isinstance(backend, dict) else None
        if api_key is MISSING and backend.get("kind") == "openai":
            log.warning("backend disabled: its api_key is unset", extra={"backend": name})
            continue
        if isinstance(backend, dict) and api_key is MISSING:
            backend = {**backend, "api_key": None}
        discovery = backend.get("discovery") if isinstance(backend, dict) else None
        if isinstance(discovery, dict) and discovery.get("host") in (MISSING, "", None):
            backend = {k: v for k, v in backend.items() if k != "discovery"}  # no name to resolve: base_url only
        backends[name] = backend
    declared = raw.get("backends") or {}
    models = {}
    for alias, names in (raw.get("models") or {}).items():
        # Unknown names stay, so validation reports them; disabled ones go.
        enabled = [name for name in names or [] if name in backends or name not in declared]
        if not enabled and names:
            log.warning("model alias disabled: none of its backends is enabled", extra={"alias": alias})
            continue
        models[alias] = enabled
    keys = []
    for index, entry in enumerate(raw.get("keys") or []):
        if isinstance(entry, dict) and entry.get("key") is MISSING:
            log.warning("static key skipped: its value is unset", extra={"key_index": index})
            continue
        if isinstance(entry, dict):
            for grant in ("allow_phi", "allow_images", "allow_store"):  # grants for a disabled backend go with it
                if isinstance(entry.get(grant), list):
                    entry = {**entry, grant: [n for n in entry[grant] if n in backends or n not in declared]}
        keys.append(entry)
    store = dict(raw.get("store") or {})
    for name in ("redis_url", "admin_key"):
        if store.get(name) is MISSING or store.get(name) == "":
            store[name] = None
    audit = dict(raw.get("audit") or {})
    if audit.get("chain_key") is MISSING or audit.get("chain_key") == "":
        audit["chain_key"] = None
    server = dict(raw.get("server") or {})
    for name in ("metrics_token", "metrics_port"):
        if server.get(name) is MISSING or server.get(name) == "":
            server[name] = None
    return {
        **raw,
        "backends": backends,
        "models": models,
        "keys": keys,
        "store": store,
        "server": server,
        **({"audit": audit} if audit else {}),
    }


def load_config(path: Path, env: Mapping[str, str] | None = None) -> ServingConfig:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"config {path} must be a mapping")
    resolved = substitute_env(raw, os.environ if env is None else env)
    try:
        config = ServingConfig.model_validate(_drop_missing(resolved))
    except ValueError as exc:
        raise ConfigError(f"config {path} is invalid: {exc}") from exc
    if config.consultation is not None and not config.consultation.providers_file.is_absolute():
        located = path.parent / config.consultation.providers_file
        config.consultation.providers_file = located
    return config


def load_for_command(config_path: str | None) -> ServingConfig | None:
    """The config for a command-line tool (`python -m serving keys|audit`): None, with the
    reason on stderr, when it can't be loaded."""
    try:
        overrides: dict[str, Any] = {"config_path": Path(config_path)} if config_path else {}
        return Settings(**overrides).load()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


class Settings(BaseSettings):
    """Process settings (PEARCARE_* environment variables); the config file holds the rest."""

    model_config = SettingsConfigDict(env_prefix="PEARCARE_", extra="ignore")
    config_path: Path = DEFAULT_CONFIG
    host: str | None = None
    port: int | None = None
    workers: int | None = None
    log_format: Literal["json", "text"] = "json"
    # prometheus_client's own variable: set, metrics are aggregated across worker processes.
    metrics_multiprocess_dir: Path | None = Field(None, validation_alias="PROMETHEUS_MULTIPROC_DIR")

    def load(self) -> ServingConfig:
        config = load_config(self.config_path)
        fields = (("host", self.host), ("port", self.port), ("workers", self.workers))
        overrides = {k: v for k, v in fields if v is not None}
        if overrides:
            config = config.model_copy(update={"server": config.server.model_copy(update=overrides)})
        if config.server.workers > 1 and not config.store.redis_url:
            # Each worker would keep its own in-process store: limits x workers, and keys made
            # through the admin API known to one worker only.
            raise ConfigError(
                f"server.workers is {config.server.workers}, but keys and limits are in-process (no store.redis_url):"
                " each worker would enforce its own limits. Set store.redis_url (REDIS_URL) or use one worker."
            )
        return config
