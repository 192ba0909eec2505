"""The processes a benchmark measures: the upstream simulator and one façade process (auth and
Redis rate limits on), each on a free port, stopped with their process group."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from loadtests.devstack.processes import running
from loadtests.devstack.vllm_cpu import free_port
from loadtests.measure import KEY
from serving.settings import REPO_ROOT

# A key whose request limit the soak runs into on purpose: its 429s are the only errors allowed.
LIMITED_KEY = "sk-bench-limited-0123456789abcdefghijkl"
LIMITED_RPM = 30
# The façade's Redis pool (store.max_connections): it fills up to this under load, by design.
REDIS_POOL_MAX = 64
# Consultations run on their own key, so the bench key's usage is the chat traffic alone.
CONSULTATION_KEY = "sk-bench-consult-0123456789abcdefghijk"


@dataclass(frozen=True)
class Server:
    base_url: str  # .../v1
    pid: int


@contextmanager
def simulator(workdir: Path, *, ttft_ms: int, itl_ms: int, tokens: int) -> Iterator[Server]:
    port = free_port()
    command = [sys.executable, "-m", "loadtests.simulator", "--port", str(port)]
    command += ["--ttft-ms", str(ttft_ms), "--itl-ms", str(itl_ms), "--tokens", str(tokens)]
    with running(command, f"http://127.0.0.1:{port}/health", workdir / f"simulator-{port}.log") as process:
        yield Server(f"http://127.0.0.1:{port}/v1", process.pid)


@contextmanager
def bare_proxy(workdir: Path, upstream_url: str) -> Iterator[Server]:
    port = free_port()
    command = [sys.executable, "-m", "loadtests.bare_proxy", "--port", str(port), "--upstream", upstream_url]
    with running(command, f"http://127.0.0.1:{port}/health", workdir / f"bare-{port}.log") as process:
        yield Server(f"http://127.0.0.1:{port}/v1", process.pid)


@contextmanager
def facade(
    upstream_url: str,
    model: str,
    workdir: Path,
    redis_url: str,
    *,
    consultation: bool = False,
    message_format: str | None = None,
    kind: str = "vllm",
    data_policy: str | None = None,
    audit: bool = True,
    overlap_admission: bool = True,
    workers: int = 1,
    limited_rpm: int = LIMITED_RPM,
    asgi_server: str = "uvicorn",
    endpoints: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    source: Path | None = None,
    budgets: bool = False,
) -> Iterator[Server]:
    """Alias `bench` → the upstream. The bench key's limits are set so high they never refuse,
    so every request pays for the full admission script; the limited key refuses on purpose.
    budgets: the upstream has prices and the bench key belongs to a tenant, both with budgets
    that never refuse, so every request also reserves and settles its cost (#29)."""
    port = free_port()
    backend: dict[str, Any] = {"kind": kind, "base_url": upstream_url, "model": model}
    if kind == "openai":
        backend["api_key"] = "sk-bench-provider-0123456789"
    if data_policy:
        backend["data_policy"] = data_policy
    if message_format:
        backend["message_format"] = message_format
    if endpoints:  # a replica group: base_url and these serve the same model
        backend["endpoints"] = endpoints
    bench_key: dict[str, Any] = {"key": KEY, "name": "bench", "rpm": 10**9, "tpm": 10**12}
    config: dict[str, Any] = {
        "server": {"log_level": "warning"},
        "backends": {"up": backend},
        "models": {"bench": ["up"]},
        "keys": [
            bench_key,
            {"key": LIMITED_KEY, "name": "limited", "rpm": limited_rpm},
            {"key": CONSULTATION_KEY, "name": "consultations"},
        ],
        "store": {"redis_url": redis_url, "max_connections": REDIS_POOL_MAX, "overlap_admission": overlap_admission},
        "audit": {"enabled": audit, "spool_dir": str(workdir / f"audit-spool-{port}")},
    }
    if budgets:
        backend["pricing"] = {"input_per_million": 1.25, "cached_input_per_million": 0.125, "output_per_million": 10.0}
        config["tenants"] = [{"id": "bench-clinic", "daily_budget_usd": 10**6, "monthly_budget_usd": 10**7}]
        bench_key.update(tenant="bench-clinic", daily_budget_usd=10**6, monthly_budget_usd=10**7)
    for section, more in (extra or {}).items():  # backends, models, keys beside the bench ones
        if isinstance(config.get(section), dict):
            config[section].update(more)
        elif isinstance(config.get(section), list):
            config[section].extend(more)
        else:
            config[section] = more
    if consultation:
        config["consultation"] = {
            "stages": dict.fromkeys(("intake", "icd", "cpt", "summary"), "bench"),
            "providers_file": str(REPO_ROOT / "configs" / "providers.json"),
        }
    path = workdir / f"facade-{port}.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "serving", "--config", str(path), "--port", str(port), "--workers", str(workers)]
    env: dict[str, str] = {}
    if source is not None:  # another checkout's façade (a before/after comparison in one run)
        env.update(code_from(source))
    if asgi_server == "granian":  # the same app (each worker builds it from the config) under granian
        command = [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--loop", "uvloop"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-ws"]
        command += ["--log-level", "warning", "serving.app:app_from_environment"]
        env["PEARCARE_CONFIG_PATH"] = str(path)
        if workers > 1:  # as python -m serving sets it for several workers
            metrics_dir = workdir / f"metrics-{port}"
            metrics_dir.mkdir()
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    with running(command, f"http://127.0.0.1:{port}/health", workdir / f"facade-{port}.log", env=env) as process:
        yield Server(f"http://127.0.0.1:{port}/v1", process.pid)


def code_from(source: Path) -> dict[str, str]:
    """The environment that makes `python -m serving` run another checkout's code.
    PYTHONSAFEPATH: `-m` would otherwise put the working directory (this checkout) ahead of
    PYTHONPATH, and both façades would run this one's code."""
    return {"PYTHONPATH": str(source), "PYTHONSAFEPATH": "1"}
