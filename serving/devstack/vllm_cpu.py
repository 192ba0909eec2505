"""Start and stop a real vLLM OpenAI server (the CPU build) as a subprocess.

Used by the quickstart (`python -m serving.devstack`) and the end-to-end test fixtures. It
only runs vLLM's interpreter from its own virtualenv: the façade never imports vLLM.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from serving.devstack.processes import stop as stop_process

CACHE_DIR = Path(os.environ.get("PEARCARE_CACHE", Path.home() / ".cache" / "pearcare"))
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VLLM_PYTHON = REPO_ROOT / ".venv-vllm" / "bin" / "python"
DEFAULT_MODEL_DIR = CACHE_DIR / "models" / "gemma-3-270m"
SERVED_MODEL_NAME = "gemma-3-270m"
# Compact JSON for structured outputs: without it a small model pads JSON with whitespace
# until max_tokens runs out (the grammar allows any whitespace between tokens).
STRUCTURED_OUTPUTS_CONFIG = '{"backend": "xgrammar", "disable_any_whitespace": true}'
# Gemma 3 has no tool-call format of its own: configs/vllm/gemma3_tools.jinja asks for calls as a
# Python list, which vLLM's pythonic parser reads (Dockerfile.vllm passes the same flags).
TOOL_CHAT_TEMPLATE = REPO_ROOT / "configs" / "vllm" / "gemma3_tools.jinja"
TOOL_ARGS = ("--enable-auto-tool-choice", "--tool-call-parser", "pythonic", "--chat-template", str(TOOL_CHAT_TEMPLATE))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class VllmStartError(RuntimeError):
    pass


@dataclass
class VllmCpuServer:
    python: Path = DEFAULT_VLLM_PYTHON
    model_dir: Path = DEFAULT_MODEL_DIR
    port: int = field(default_factory=free_port)
    served_model_name: str = SERVED_MODEL_NAME
    log_path: Path | None = None
    extra_args: tuple[str, ...] = ()
    # vLLM checks it on /v1 only: /metrics, /health, /tokenize and others stay open, which is
    # why deployments also keep vLLM's port reachable from the façade alone (network policies).
    api_key: str | None = None
    _process: subprocess.Popen[bytes] | None = None
    _tmpdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def check_installed(self) -> None:
        if not self.python.exists():
            raise VllmStartError(f"vLLM CPU virtualenv not found at {self.python}: run `make vllm` (or `make test`).")
        if not (self.model_dir / ".ready").exists():
            raise VllmStartError(f"model not prepared at {self.model_dir}: run `make model` (or `make test`).")

    def start(self) -> None:
        self.check_installed()
        self._tmpdir = tempfile.TemporaryDirectory(prefix="vllm-cpu-")
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"),
            "TMPDIR": self._tmpdir.name,
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
        }
        command = [
            str(self.python),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(self.model_dir),
            "--served-model-name",
            self.served_model_name,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--max-model-len",
            "2048",
            "--enforce-eager",
            "--structured-outputs-config",
            STRUCTURED_OUTPUTS_CONFIG,
            # Tool calls: `auto` parsed from Gemma's pythonic answer; a named tool_choice is
            # enforced by structured outputs whatever the parser.
            *TOOL_ARGS,
            # One argument, "=": a key that starts with "-" would read as another option.
            *((f"--api-key={self.api_key}",) if self.api_key else ()),
            *self.extra_args,
        ]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        # Its own session, so stop() can end vLLM's engine processes with it.
        self._process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise VllmStartError(f"vLLM exited with code {self._process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.root_url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(1)
        raise VllmStartError(f"vLLM did not become healthy within {timeout:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process, grace=30)
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> VllmCpuServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
