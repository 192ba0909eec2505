"""Typed configuration, loaded once: process settings from the environment (process.py) and the
YAML config file (config.py), one module per section of it."""

from serving.settings.backends import BackendConfig, BreakerConfig, ConcurrencyConfig, DnsDiscovery, Timeouts
from serving.settings.config import ServingConfig, load_config
from serving.settings.keys import StaticKey, check_models
from serving.settings.process import DEFAULT_CONFIG, REPO_ROOT, Settings, load_for_command
from serving.settings.server import CacheConfig, ConsultationConfig, ImagesConfig, ServerConfig
from serving.settings.store import AuditConfig, StoreConfig
from serving.settings.substitution import MISSING, ConfigError, substitute_env

__all__ = [
    "DEFAULT_CONFIG",
    "MISSING",
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
    "ServerConfig",
    "ServingConfig",
    "Settings",
    "StaticKey",
    "StoreConfig",
    "Timeouts",
    "check_models",
    "load_config",
    "load_for_command",
    "substitute_env",
]
