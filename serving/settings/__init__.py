"""Typed configuration, loaded once: process settings from the environment (process.py) and the
YAML config file (config.py), one module per section of it."""

from serving.settings.backends import BackendConfig, BreakerConfig, ConcurrencyConfig, DnsDiscovery, Timeouts
from serving.settings.config import ServingConfig, load_config
from serving.settings.keys import (
    BACKEND_LISTS,
    GRANT_FIELDS,
    PRIORITIES,
    KeySettings,
    StaticKey,
    check_models,
    choices_of,
    kind_of,
)
from serving.settings.process import DEFAULT_CONFIG, REPO_ROOT, Settings, load_for_command
from serving.settings.server import CacheConfig, ConsultationConfig, ImagesConfig, ServerConfig
from serving.settings.store import AuditConfig, StoreConfig
from serving.settings.substitution import MISSING, ConfigError, substitute_env
from serving.settings.tracing import TracingConfig

__all__ = [
    "BACKEND_LISTS",
    "DEFAULT_CONFIG",
    "GRANT_FIELDS",
    "MISSING",
    "PRIORITIES",
    "REPO_ROOT",
    "AuditConfig",
    "BackendConfig",
    "BreakerConfig",
    "CacheConfig",
    "ConcurrencyConfig",
    "ConfigError",
    "ConsultationConfig",
    "DnsDiscovery",
    "ImagesConfig",
    "KeySettings",
    "ServerConfig",
    "ServingConfig",
    "Settings",
    "StaticKey",
    "StoreConfig",
    "Timeouts",
    "TracingConfig",
    "check_models",
    "choices_of",
    "kind_of",
    "load_config",
    "load_for_command",
    "substitute_env",
]
