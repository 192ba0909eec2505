"""The real vLLM OpenAI server, CPU build, with the small Gemma 3 model.

Used by the quickstart (`python -m loadtests.devstack`) and the end-to-end test fixtures. It
only runs vLLM's interpreter from its own virtualenv: the façade never imports vLLM.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from serving.backends.vllm_server import REPO_ROOT, VllmServer, VllmStartError, free_port

__all__ = ["CACHE_DIR", "DEFAULT_MODEL_DIR", "DEFAULT_VLLM_PYTHON", "VllmCpuServer", "VllmStartError", "free_port"]

CACHE_DIR = Path(os.environ.get("PEARCARE_CACHE", Path.home() / ".cache" / "pearcare"))
DEFAULT_VLLM_PYTHON = REPO_ROOT / ".venv-vllm" / "bin" / "python"
DEFAULT_MODEL_DIR = CACHE_DIR / "models" / "gemma-3-270m"
SERVED_MODEL_NAME = "gemma-3-270m"
# Compact JSON for structured outputs: without it a small model pads JSON with whitespace
# until max_tokens runs out (the grammar allows any whitespace between tokens).
STRUCTURED_OUTPUTS_CONFIG = '{"backend": "xgrammar", "disable_any_whitespace": true}'
# Eager mode starts in ~60 s (no graph capture); 2048 tokens of context fit the CPU's KV cache.
CPU_ENGINE_ARGS = (
    "--max-model-len",
    "2048",
    "--enforce-eager",
    "--structured-outputs-config",
    STRUCTURED_OUTPUTS_CONFIG,
)


def cpu_env() -> dict[str, str]:
    """vLLM CPU's KV cache in GiB: 1 unless the caller's environment says otherwise."""
    return {"VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}


@dataclass
class VllmCpuServer(VllmServer):
    python: str = str(DEFAULT_VLLM_PYTHON)
    model: str = str(DEFAULT_MODEL_DIR)
    served_model_name: str = SERVED_MODEL_NAME
    engine_args: tuple[str, ...] = CPU_ENGINE_ARGS
    env: Mapping[str, str] = field(default_factory=cpu_env)

    @property
    def model_dir(self) -> Path:
        return Path(self.model)

    def check_installed(self) -> None:
        if not Path(self.python).exists():
            raise VllmStartError(f"vLLM CPU virtualenv not found at {self.python}: run `make vllm` (or `make test`).")
        if not (self.model_dir / ".ready").exists():
            raise VllmStartError(f"model not prepared at {self.model_dir}: run `make model` (or `make test`).")

    def start(self) -> None:
        self.check_installed()
        super().start()
