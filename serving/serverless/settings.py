"""The RunPod worker's settings (PEARCARE_RUNPOD_* variables, set on the endpoint); the façade
itself reads the same config file as the HTTP server."""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from serving.backends.vllm_server import TOOL_CHAT_TEMPLATE, VllmServer
from serving.settings import DEFAULT_CONFIG, ConfigError, ServingConfig, StaticKey, load_config

ENDPOINT_KEY_NAME = "endpoint"


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PEARCARE_RUNPOD_", extra="ignore")

    config_path: Path = Field(DEFAULT_CONFIG, validation_alias="PEARCARE_CONFIG_PATH")
    log_format: Literal["json", "text"] = Field("json", validation_alias="PEARCARE_LOG_FORMAT")
    # The SDK logs each job's input and output at DEBUG, its default: prompts are patient data.
    sdk_log_level: Literal["ERROR", "WARN", "INFO"] = "INFO"
    # The endpoint's own key: jobs that carry no `api_key` (every job from RunPod's OpenAI
    # route, whose Authorization header is RunPod's key) are served under it, with its limits.
    endpoint_key: SecretStr | None = Field(None, min_length=20)
    endpoint_rpm: int = Field(0, ge=0)
    endpoint_tpm: int = Field(0, ge=0)
    # Set: vLLM is started in this container serving this model (a path in the image or on the
    # network volume, or a Hugging Face id cached there); unset: the config's backends are used.
    vllm_model: str | None = None
    vllm_python: str = "python3"
    vllm_served_model_name: str = "medgemma"
    vllm_chat_template: Path = TOOL_CHAT_TEMPLATE  # Gemma 3's tool-call template (configs/vllm/)
    vllm_args: str = ""  # more engine arguments, shell-quoted (GPU memory, context length, quantization)
    vllm_ready_timeout: float = Field(1800.0, gt=0)  # a 27B model's first load from a network volume
    vllm_log: Path | None = None  # default: vLLM's output goes to the worker's
    max_concurrency: int = Field(32, ge=1)  # jobs one worker takes at once (vLLM batches them)
    # Set by RunPod (read, as the SDK reads them, to know how it will run the handler).
    job_take_url: str | None = Field(None, validation_alias="RUNPOD_WEBHOOK_GET_JOB")
    realtime_port: int = Field(0, validation_alias="RUNPOD_REALTIME_PORT")

    @property
    def on_runpod(self) -> bool:
        return bool(self.job_take_url)

    def vllm_server(self) -> VllmServer | None:
        if not self.vllm_model:
            return None
        return VllmServer(
            python=self.vllm_python,
            model=self.vllm_model,
            served_model_name=self.vllm_served_model_name,
            api_key=secrets.token_hex(24),  # only the façade in this process talks to it
            engine_args=tuple(shlex.split(self.vllm_args)),
            log_path=self.vllm_log,
            chat_template=self.vllm_chat_template,
        )

    def serving_config(self, env: Mapping[str, str]) -> ServingConfig:
        """The façade's config, with the endpoint's key among the static keys."""
        config = load_config(self.config_path, env)
        if self.endpoint_key is None:
            return config
        if any(key.name == ENDPOINT_KEY_NAME for key in config.keys):
            raise ConfigError(f"keys: `{ENDPOINT_KEY_NAME}` is the RunPod endpoint key's name; rename that key")
        endpoint = StaticKey(
            key=self.endpoint_key.get_secret_value(),
            name=ENDPOINT_KEY_NAME,
            rpm=self.endpoint_rpm,
            tpm=self.endpoint_tpm,
        )
        return config.model_copy(update={"keys": [*config.keys, endpoint]})


def vllm_env(server: VllmServer) -> dict[str, str]:
    """What the config's `local-vllm` backend reads (configs/serving.yaml) to find this vLLM."""
    return {
        "VLLM_BASE_URL": server.base_url,
        "VLLM_API_KEY": server.api_key or "",
        "VLLM_SERVED_MODEL": server.served_model_name,
    }
