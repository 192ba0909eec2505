"""Process settings (PEARCARE_* environment variables) and the config file they point at."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from serving.settings.config import ServingConfig, load_config
from serving.settings.substitution import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_CONFIG = REPO_ROOT / "configs" / "serving.yaml"


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
