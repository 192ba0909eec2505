"""Real processes for tests: the façade (`python -m serving`) and the upstream simulator, each on
a free port, started and stopped by fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from serving.devstack.processes import running
from serving.devstack.vllm_cpu import free_port

TEST_KEY = "sk-test-0123456789abcdefghijklmnop"
LIMITED_KEY = "sk-test-limited-0123456789abcdefgh"


class Simulator:
    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/v1"


@contextmanager
def simulator(tmp_path: Path, *args: str) -> Iterator[Simulator]:
    port = free_port()
    command = [sys.executable, "-m", "loadtests.simulator", "--port", str(port), *args]
    with running(command, f"http://127.0.0.1:{port}/health", tmp_path / f"simulator-{port}.log"):
        yield Simulator(port)


class Facade:
    def __init__(self, port: int, log_path: Path, config_path: Path) -> None:
        self.port = port
        self.config_path = config_path
        self.root_url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root_url}/v1"
        self.log_path = log_path

    def log_text(self) -> str:
        return self.log_path.read_text()


def facade_config(
    backends: dict[str, dict[str, Any]],
    models: dict[str, list[str]],
    store: dict[str, Any] | None = None,
    **server: Any,
) -> dict[str, Any]:
    return {
        "server": {"max_request_bytes": 65536, **server},
        "store": store or {},
        "backends": backends,
        "models": models,
        "keys": [
            {"key": TEST_KEY, "name": "test", "models": ["*"]},
            {"key": LIMITED_KEY, "name": "limited", "models": ["only-this"]},
        ],
    }


@contextmanager
def facade(tmp_path: Path, config: dict[str, Any]) -> Iterator[Facade]:
    port = free_port()
    config_path = tmp_path / f"serving-{port}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    log_path = tmp_path / f"facade-{port}.log"
    command = [sys.executable, "-m", "serving", "--config", str(config_path), "--port", str(port)]
    with running(command, f"http://127.0.0.1:{port}/health", log_path):
        yield Facade(port, log_path, config_path)


def vllm_backend(base_url: str, model: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "vllm", "base_url": base_url, "model": model, **extra}
