"""Running for real: several workers share one /metrics; SIGTERM lets running streams finish."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from redis.asyncio import Redis

from loadtests.devstack.processes import wait_http
from loadtests.devstack.redis_server import RedisServer
from loadtests.devstack.vllm_cpu import free_port
from serving.access.keys import KeyStore
from serving.access.usage import UsageRange, UsageReader
from serving.lifetime import stop
from tests.support.stack import TEST_KEY, facade_config, simulator, vllm_backend
from tests.support.wait import eventually

HELLO = [{"role": "user", "content": "Hello"}]
AUTH = {"authorization": f"Bearer {TEST_KEY}"}


def start_facade(
    tmp_path: Path,
    sim_url: str,
    *,
    workers: int,
    redis_url: str | None = None,
    grace_seconds: float = 30,
    metrics_port: int | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = facade_config(
        backends={"sim": vllm_backend(sim_url, "sim-model")},
        models={"medgemma": ["sim"]},
        store={"redis_url": redis_url} if redis_url else None,
    )
    config["server"]["workers"] = workers
    config["server"]["graceful_shutdown_seconds"] = grace_seconds
    config["server"]["metrics_port"] = metrics_port
    path = tmp_path / f"serving-{port}.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{port}")}
    env.pop("PEARCARE_CONFIG_PATH", None)
    with open(tmp_path / f"facade-{port}.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "serving", "--config", str(path), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    wait_http(f"http://127.0.0.1:{port}/health", process)
    return process, f"http://127.0.0.1:{port}"


REQUESTS_OK = re.compile(
    r'^pearcare_requests_total\{alias="medgemma",route="/v1/chat/completions",status_class="2xx"\} (\S+)$', re.MULTILINE
)


def served_by_each_worker(metrics_dir: Path) -> dict[str, float]:
    """Chat requests counted in each worker's own metric file (one file per process id)."""
    counts = {}
    for db in metrics_dir.glob("counter_*.db"):
        alone = metrics_dir.parent / f"alone-{db.stem}"
        alone.mkdir(exist_ok=True)
        shutil.copy(db, alone / db.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        value = registry.get_sample_value(
            "pearcare_requests_total",
            {"alias": "medgemma", "route": "/v1/chat/completions", "status_class": "2xx"},
        )
        counts[db.stem] = value or 0.0
    return counts


async def burst_on_new_connections(url: str, count: int) -> None:
    """Each request on its own connection, all at once: the workers' accept() calls share them."""

    async def one() -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                url,
                headers={"authorization": f"Bearer {TEST_KEY}"},
                json={"model": "medgemma", "messages": HELLO, "max_tokens": 1},
            )
            assert response.status_code == 200

    await asyncio.gather(*(one() for _ in range(count)))


def test_metrics_add_up_across_workers(tmp_path: Path, redis_server: RedisServer) -> None:
    with simulator(tmp_path, "--ttft-ms", "5", "--itl-ms", "1", "--tokens", "2") as sim:
        metrics_port = free_port()
        process, root = start_facade(
            tmp_path, sim.base_url, workers=2, redis_url=redis_server.url, metrics_port=metrics_port
        )
        metrics_dir = next(tmp_path.glob("metrics-*"))
        try:
            sent = 0
            for _ in range(20):  # bounded: until both workers have served some
                asyncio.run(burst_on_new_connections(root + "/v1/chat/completions", 20))
                sent += 20
                if sum(1 for n in served_by_each_worker(metrics_dir).values() if n > 0) >= 2:
                    break
            per_worker = served_by_each_worker(metrics_dir)
            assert sum(1 for n in per_worker.values() if n > 0) == 2, per_worker
            assert sum(per_worker.values()) == sent
            # The metrics port, served by the parent process, adds up every worker's count.
            line = REQUESTS_OK.search(httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text)
            assert line and float(line.group(1)) == sent
            assert httpx.get(root + "/metrics").status_code == 404
        finally:
            stop(process)


def test_several_workers_without_a_shared_store_refuse_to_start(tmp_path: Path) -> None:
    with simulator(tmp_path) as sim, pytest.raises(RuntimeError, match="exited with 2"):
        start_facade(tmp_path, sim.base_url, workers=2)
    log = next(tmp_path.glob("facade-*.log")).read_text()
    assert "each worker would enforce its own limits" in log


def test_sigterm_lets_running_streams_finish(tmp_path: Path) -> None:
    with simulator(tmp_path, "--ttft-ms", "1", "--itl-ms", "50", "--tokens", "30") as sim:
        process, root = start_facade(tmp_path, sim.base_url, workers=1)
        try:
            body = {"model": "medgemma", "messages": HELLO, "max_tokens": 30, "stream": True}
            with httpx.stream(
                "POST",
                root + "/v1/chat/completions",
                json=body,
                timeout=30,
                headers={"authorization": f"Bearer {TEST_KEY}"},
            ) as response:
                lines = response.iter_lines()
                assert next(lines).startswith("data: ")
                os.killpg(process.pid, signal.SIGTERM)
                rest = [line for line in lines if line.startswith("data: ")]
            assert rest[-1] == "data: [DONE]" and len(rest) >= 28, "the stream ran to its end"
            process.wait(timeout=10)
            assert process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
        finally:
            stop(process)


def test_sigterm_cuts_a_stream_longer_than_the_grace_period_refuses_new_work_and_settles(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    with simulator(tmp_path, "--ttft-ms", "1", "--itl-ms", "100", "--tokens", "600") as sim:
        process, root = start_facade(tmp_path, sim.base_url, workers=1, redis_url=redis_server.url, grace_seconds=1)
        try:
            body = {"model": "medgemma", "messages": HELLO, "max_tokens": 600, "stream": True}
            received = []
            with httpx.stream("POST", root + "/v1/chat/completions", json=body, timeout=30, headers=AUTH) as response:
                lines = response.iter_lines()
                received.append(next(lines))
                os.killpg(process.pid, signal.SIGTERM)
                # Draining: the listening socket is closed, new requests are refused at once.
                refused = eventually(lambda: connection_refused(root + "/health"))
                assert refused
                with contextlib.suppress(httpx.HTTPError):  # cut off at the end of the grace period
                    received += [line for line in lines if line.startswith("data: ")]
            assert "data: [DONE]" not in received and len(received) < 600, "cut, not run to its end"
            process.wait(timeout=15)
        finally:
            stop(process)
        # The cut stream was settled before the process exited: counted as a failed request,
        # charged for the tokens that were generated.
        rows = asyncio.run(usage_in_store(redis_server.url))
        assert [(r["model"], r["requests"], r["errors"]) for r in rows] == [("medgemma", 1, 1)]
        assert 1 <= rows[0]["completion_tokens"] < 600 and rows[0]["prompt_tokens"] > 0


def connection_refused(url: str) -> bool:
    """Not served: refused, or reset while the listening socket closes."""
    try:
        httpx.get(url, timeout=2)
    except (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError):
        return True
    return False


async def usage_in_store(redis_url: str) -> list[dict[str, Any]]:
    redis = Redis.from_url(redis_url)
    try:
        return await UsageReader(redis, KeyStore(redis)).for_all(UsageRange.of(None, None))
    finally:
        await redis.aclose()
