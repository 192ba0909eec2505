"""The reference gateway users compare us with: LiteLLM's proxy, in a virtualenv of its own
(never in the project's), one worker, no database, pointed at the same simulator.

Pinned to 1.106.2. The 1.107.0 release on PyPI was compromised (a credential-stealing
payload): never install it, and never let a resolver pick "the latest" here.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from loadtests.devstack.processes import running
from loadtests.devstack.vllm_cpu import CACHE_DIR, free_port
from loadtests.measure import KEY
from loadtests.servers import Server

LITELLM_VERSION = "1.106.2"
COMPROMISED = frozenset({"1.107.0"})
LITELLM_VENV = CACHE_DIR / f"litellm-{LITELLM_VERSION}"


def litellm_config(upstream_url: str, model: str) -> dict[str, Any]:
    """Alias `bench` -> the upstream as an OpenAI-compatible model; the bench key as the master
    key (no database: the master key is the only key), logging and callbacks off."""
    return {
        "model_list": [
            {
                "model_name": "bench",
                "litellm_params": {"model": f"openai/{model}", "api_base": upstream_url, "api_key": "sk-upstream"},
            }
        ],
        "general_settings": {"master_key": KEY},
        "litellm_settings": {"drop_params": True, "set_verbose": False, "telemetry": False},
    }


def install_litellm(venv: Path = LITELLM_VENV, version: str = LITELLM_VERSION) -> Path:
    """The proxy's virtualenv (made once, kept in the cache); returns its `litellm` command."""
    if version in COMPROMISED:
        raise ValueError(f"litellm {version} was compromised; refusing to install it")
    command = venv / "bin" / "litellm"
    marker = venv / f".installed-{version}"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, f"litellm[proxy]=={version}"], check=True)
        marker.touch()
    return command


@contextmanager
def litellm_proxy(workdir: Path, upstream_url: str, model: str) -> Iterator[Server]:
    command = install_litellm()
    port = free_port()
    config = workdir / f"litellm-{port}.yaml"
    config.write_text(yaml.safe_dump(litellm_config(upstream_url, model)))
    argv = [str(command), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    env = {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "DISABLE_ADMIN_UI": "True", "NO_DOCS": "True"}
    ready = f"http://127.0.0.1:{port}/health/liveliness"
    with running(argv, ready, workdir / f"litellm-{port}.log", env=env, timeout=180) as process:
        yield Server(f"http://127.0.0.1:{port}/v1", process.pid)
