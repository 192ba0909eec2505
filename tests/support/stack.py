"""Real processes for tests: the façade (`python -m serving`) and the upstream simulator, each on
a free port, started and stopped by fixtures."""

from __future__ import annotations

import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from loadtests.devstack.processes import running
from loadtests.devstack.redis_server import RedisServer
from loadtests.devstack.vllm_cpu import free_port
from serving.settings import REPO_ROOT

TEST_KEY = "sk-test-0123456789abcdefghijklmnop"
LIMITED_KEY = "sk-test-limited-0123456789abcdefgh"
TWO_A_MINUTE_KEY = "sk-test-two-a-minute-0123456789ab"  # consultation configs only: rpm 2


class Simulator:
    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/v1"

    def stats(self) -> dict[str, Any]:
        """Requests seen and cancelled, the last body and headers (loadtests/simulator.py)."""
        stats: dict[str, Any] = httpx.get(f"http://127.0.0.1:{self.port}/stats").json()
        return stats


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


# This test run's own audit spool: a spool left by a killed façade of another run (or test
# session) must not be replayed into this run's stores.
AUDIT_SPOOL = Path(tempfile.mkdtemp(prefix="pearcare-test-audit-spool-"))


def facade_config(
    backends: dict[str, dict[str, Any]],
    models: dict[str, list[str]],
    store: dict[str, Any] | None = None,
    **server: Any,
) -> dict[str, Any]:
    return {
        "server": {"max_request_bytes": 65536, **server},
        "store": store or {},
        "audit": {"spool_dir": str(AUDIT_SPOOL)},
        "backends": backends,
        "models": models,
        "keys": [
            {"key": TEST_KEY, "name": "test", "models": ["*"]},
            {"key": LIMITED_KEY, "name": "limited", "models": ["only-this"]},
        ],
    }


@contextmanager
def redis_running(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server on a free port, stopped on exit."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


FACADE_START_S = 120.0  # the longest a façade may take to answer /health (a readiness wait)


@contextmanager
def facade(tmp_path: Path, config: dict[str, Any]) -> Iterator[Facade]:
    port = free_port()
    config_path = tmp_path / f"serving-{port}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    log_path = tmp_path / f"facade-{port}.log"
    command = [sys.executable, "-m", "serving", "--config", str(config_path), "--port", str(port)]
    # A façade with a consultation trains the learned reading before it serves: 15 s under
    # coverage on a slow machine beside a busy vLLM CPU (a clean-clone CI run timed out at 30 s).
    with running(command, f"http://127.0.0.1:{port}/health", log_path, timeout=FACADE_START_S):
        yield Facade(port, log_path, config_path)


_held: list[socket.socket] = []


def refused_url() -> str:
    """A backend URL that refuses connections: its port is bound (so nothing else takes it) but
    never listens, for as long as the test process runs."""
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))
    _held.append(held)
    return f"http://127.0.0.1:{held.getsockname()[1]}/v1"


def vllm_backend(base_url: str, model: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "vllm", "base_url": base_url, "model": model, **extra}


def vllm_consultation_config(base_url: str, served_model: str, api_key: str | None) -> dict[str, Any]:
    """Every consultation stage's model on one vLLM (the e2e tests' real vLLM CPU server)."""
    backend = vllm_backend(base_url, served_model, message_format="gemma3", api_key=api_key)
    config = facade_config(
        backends={"local-vllm": backend}, models={"medgemma": ["local-vllm"], "gpt-5": ["local-vllm"]}
    )
    config["consultation"] = {
        "stages": {"intake": "gpt-5", "icd": "medgemma", "cpt": "medgemma", "summary": "gpt-5"},
        "providers_file": str(REPO_ROOT / "configs" / "providers.json"),
    }
    return config


def consultation_config(sim_url: str, redis_url: str, stages: dict[str, str] | None = None) -> dict[str, Any]:
    dead = refused_url()
    config = facade_config(
        backends={"sim": vllm_backend(sim_url, "sim-model"), "dead": vllm_backend(dead, "x")},
        models={"medgemma": ["sim"], "gpt-5": ["sim"], "broken": ["dead"], "only-this": ["sim"]},
        store={"redis_url": redis_url},
    )
    config["keys"].append({"key": TWO_A_MINUTE_KEY, "name": "two-a-minute", "rpm": 2})
    config["consultation"] = {
        "stages": stages or {"intake": "gpt-5", "icd": "medgemma", "cpt": "medgemma", "summary": "gpt-5"},
        "providers_file": str(REPO_ROOT / "configs" / "providers.json"),
    }
    return config
