"""The whole config file (ServingConfig), read once: YAML, ${VAR} substitution, disabled parts dropped."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from serving.settings.backends import BackendConfig
from serving.settings.keys import StaticKey
from serving.settings.server import CacheConfig, ConsultationConfig, ImagesConfig, ServerConfig
from serving.settings.store import AuditConfig, StoreConfig
from serving.settings.substitution import MISSING, ConfigError, substitute_env
from serving.settings.tenants import StaticTenant, WidensTenant, key_settings_under
from serving.settings.tracing import TracingConfig

log = logging.getLogger(__name__)


class ServingConfig(BaseModel):
    """The YAML file: server, backends, model aliases, static keys."""

    model_config = ConfigDict(extra="forbid")
    server: ServerConfig = ServerConfig()
    backends: dict[str, BackendConfig]
    models: dict[str, list[str]]
    keys: list[StaticKey] = Field(default_factory=list)
    tenants: list[StaticTenant] = Field(default_factory=list)
    store: StoreConfig = StoreConfig()
    consultation: ConsultationConfig | None = None  # absent: no consultation endpoints
    audit: AuditConfig = AuditConfig()
    images: ImagesConfig = ImagesConfig()
    cache: CacheConfig = CacheConfig()
    tracing: TracingConfig = TracingConfig()

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
    def _tenants_are_known_and_unique(self) -> ServingConfig:
        ids = [tenant.id for tenant in self.tenants]
        repeated = sorted({tenant_id for tenant_id in ids if ids.count(tenant_id) > 1})
        if repeated:
            raise ValueError(f"tenants: declare each tenant once (repeated: {repeated})")
        for tenant in self.tenants:
            unknown = sorted(set(tenant.allow_phi + tenant.allow_images + tenant.allow_store) - set(self.backends))
            if unknown:
                raise ValueError(f"tenants.{tenant.id}: grants name unknown backend(s) {unknown}")
        tenants = {tenant.id: tenant for tenant in self.tenants}
        on_a_cluster = "+cluster://" in (self.store.redis_url or "")
        for index, key in enumerate(self.keys):
            if not key.tenant:
                continue
            if key.tenant not in tenants:
                raise ValueError(f"keys.{key.name}: tenant {key.tenant!r} is not in tenants")
            if on_a_cluster:  # its secret is its own: its record cannot be in the tenant's hash slot
                raise ValueError(
                    f"keys.{key.name}: on a Redis Cluster, create a tenant's keys with the admin API or the CLI"
                )
            try:  # the tenant's grants where the key names none, never more than them
                given = key.model_dump(include=key.model_fields_set)
                narrowed = key_settings_under(tenants[key.tenant], given)
            except WidensTenant as exc:
                raise ValueError(f"keys.{key.name}: {exc}") from None
            self.keys[index] = key.model_copy(update=narrowed)
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
    tenants = []
    for entry in raw.get("tenants") or []:
        if isinstance(entry, dict):
            for grant in ("allow_phi", "allow_images", "allow_store"):
                if isinstance(entry.get(grant), list):
                    entry = {**entry, grant: [n for n in entry[grant] if n in backends or n not in declared]}
        tenants.append(entry)
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
    tracing = dict(raw.get("tracing") or {})
    if tracing.get("otlp_endpoint") is MISSING or tracing.get("otlp_endpoint") == "":
        tracing["otlp_endpoint"] = None  # OTEL_EXPORTER_OTLP_TRACES_ENDPOINT unset: tracing off
    return {
        **raw,
        "backends": backends,
        "models": models,
        "keys": keys,
        **({"tenants": tenants} if tenants else {}),
        "store": store,
        "server": server,
        **({"audit": audit} if audit else {}),
        **({"tracing": tracing} if tracing else {}),
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
