"""vLLM's OpenAI server as a subprocess of ours, for the setups that run it beside the façade:
the devstack and its tests (the CPU build) and the serverless worker (the GPU image)."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from serving.lifetime import end_with_parent
from serving.lifetime import stop as stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
# Gemma 3 has no tool-call format of its own: configs/vllm/gemma3_tools.jinja asks for calls as a
# Python list, which vLLM's pythonic parser reads (Dockerfile.vllm passes the same flags).
TOOL_CHAT_TEMPLATE = REPO_ROOT / "configs" / "vllm" / "gemma3_tools.jinja"
# Nothing leaves the machine: the weights are local, and vLLM's usage statistics stay off.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class VllmStartError(RuntimeError):
    pass


@dataclass
class VllmServer:
    """`python -m vllm.entrypoints.openai.api_server` on 127.0.0.1, in a session of its own (so
    stop() ends its engine processes with it); ready when /health answers."""

    python: str
    model: str
    served_model_name: str
    port: int = field(default_factory=free_port)
    # vLLM checks it on /v1 only: /metrics, /health, /tokenize and others stay open, which is
    # why deployments also keep vLLM's port reachable from the façade alone (network policies).
    api_key: str | None = None
    engine_args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    chat_template: Path = TOOL_CHAT_TEMPLATE  # an installed package has no configs/: images name their copy
    # OTLP/HTTP traces endpoint: vLLM continues the façade's traces (the traceparent it is sent).
    otlp_traces_endpoint: str | None = None
    _process: subprocess.Popen[bytes] | None = None
    _tmpdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def _log_name(self) -> str:
        return str(self.log_path) if self.log_path else "its output above"

    def command(self) -> list[str]:
        return [
            self.python,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            self.model,
            "--served-model-name",
            self.served_model_name,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            # Tool calls: `auto` parsed from Gemma's pythonic answer; a named tool_choice is
            # enforced by structured outputs whatever the parser.
            *("--enable-auto-tool-choice", "--tool-call-parser", "pythonic"),
            *("--chat-template", str(self.chat_template)),
            *(("--otlp-traces-endpoint", self.otlp_traces_endpoint) if self.otlp_traces_endpoint else ()),
            *self.engine_args,
        ]

    def start(self) -> None:
        self._tmpdir = tempfile.TemporaryDirectory(prefix="vllm-")
        env = {**os.environ, **OFFLINE_ENV, **self.env, "TMPDIR": self._tmpdir.name}
        if self.otlp_traces_endpoint:
            env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] = "http/protobuf"  # as the façade exports (not gRPC)
        if self.api_key:  # through the environment: a command line is visible to every user of the host
            env["VLLM_API_KEY"] = self.api_key
        log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - None: our own output
        try:
            self._process = subprocess.Popen(
                self.command(),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=end_with_parent,
            )
        except OSError as exc:  # no such interpreter, not executable
            raise VllmStartError(f"cannot run vLLM with {self.python}: {exc.strerror}") from None
        finally:
            if log is not None:
                log.close()  # the child has its own copy

    def wait_ready(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise VllmStartError(f"vLLM exited with code {self._process.returncode}; see {self._log_name}")
            try:
                with urllib.request.urlopen(self.root_url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise VllmStartError(f"vLLM did not become healthy within {timeout:.0f}s; see {self._log_name}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process, grace=30)
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> Self:
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
