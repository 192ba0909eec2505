"""Cost of auth + rate limits, in one run on one machine, Redis on loopback.

    .venv/bin/python -m loadtests.bench_limits [--out loadtests/results/limits.json]

1. Admission.admit() alone, sequential and 50 at once: its latency p50/p99 (the latency
   auth + limits add to a request) and Redis commands per admission (INFO commandstats).
2. One façade process, non-streaming, 50 concurrent, against an instant upstream simulator:
   requests/s and latency for direct, a key with no limits (auth only: the same one round
   trip, no windows touched) and a key with request and token limits (never reached).
   Redis commands per request through the façade, settlement included.
A benchmark, not a test: it asserts nothing, it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import redis
import yaml
from redis.asyncio import Redis

from loadtests.devstack.processes import running
from loadtests.devstack.redis_server import RedisServer
from loadtests.devstack.vllm_cpu import free_port
from loadtests.measure import KEY, compare, run_phase
from serving.access.admission import Admission
from serving.access.keys import KeyRecord, KeyStore, hash_key
from serving.observability.metrics import Metrics

LIMITED_KEY = "sk-bench-limited-0123456789abcdefghijkl"


def command_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(value["calls"]) for name, value in stats.items() if name != "cmdstat_info")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def admit_alone(url: str) -> dict[str, Any]:
    client = Redis.from_url(url)
    _, secret = await KeyStore(client).create(KeyRecord(id="key_micro", name="micro", rpm=10**9, tpm=10**12))
    access = Admission(client, metrics=Metrics())
    key_hash = hash_key(secret)
    sync = redis.Redis.from_url(url)
    for _ in range(20):  # warm: the script is loaded, the pool holds 50 connections
        await asyncio.gather(*(access.admit(key_hash, "bench", 100) for _ in range(50)))
    calls_before = command_calls(sync)
    sequential = []
    for _ in range(3000):
        started = time.perf_counter()
        await access.admit(key_hash, "bench", 100)
        sequential.append(time.perf_counter() - started)
    per_admission = (command_calls(sync) - calls_before) / 3000

    concurrent: list[float] = []

    async def timed() -> None:
        started = time.perf_counter()
        await access.admit(key_hash, "bench", 100)
        concurrent.append(time.perf_counter() - started)

    for _ in range(60):
        await asyncio.gather(*(timed() for _ in range(50)))
    await client.aclose()
    sync.close()
    return {
        "redis_commands_per_admission": per_admission,
        "sequential_p50_us": round(percentile(sequential, 0.5) * 1e6, 1),
        "sequential_p99_us": round(percentile(sequential, 0.99) * 1e6, 1),
        "concurrent50_p50_us": round(percentile(concurrent, 0.5) * 1e6, 1),
        "concurrent50_p99_us": round(percentile(concurrent, 0.99) * 1e6, 1),
    }


@contextmanager
def facade(upstream: str, redis_url: str, workdir: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    config = {
        "server": {"log_level": "warning"},
        "backends": {"up": {"kind": "vllm", "base_url": upstream, "model": "sim"}},
        "models": {"bench": ["up"]},
        "keys": [
            {"key": KEY, "name": "unlimited"},
            {"key": LIMITED_KEY, "name": "limited", "rpm": 10**9, "tpm": 10**12},
        ],
        "store": {"redis_url": redis_url},
    }
    path = workdir / f"facade-{port}.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "serving", "--config", str(path), "--port", str(port)]
    with running(command, f"http://127.0.0.1:{port}/health", workdir / f"facade-{port}.log") as process:
        yield f"http://127.0.0.1:{port}/v1/chat/completions", process.pid


async def through_facade(workdir: Path, redis_url: str) -> dict[str, Any]:
    sim_port = free_port()
    sim = [
        sys.executable,
        "-m",
        "loadtests.simulator",
        "--port",
        str(sim_port),
        "--ttft-ms",
        "0",
        "--itl-ms",
        "0",
        "--tokens",
        "8",
    ]
    body = {"model": "sim", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
    sync = redis.Redis.from_url(redis_url)
    with ExitStack() as stack:
        stack.enter_context(running(sim, f"http://127.0.0.1:{sim_port}/health", workdir / "sim.log"))
        url, pid = stack.enter_context(facade(f"http://127.0.0.1:{sim_port}/v1", redis_url, workdir))
        direct = await run_phase(
            "direct",
            f"http://127.0.0.1:{sim_port}/v1/chat/completions",
            body,
            concurrency=50,
            duration_s=6,
            stream=False,
        )
        off = await run_phase(
            "auth only", url, {**body, "model": "bench"}, concurrency=50, duration_s=6, stream=False, cpu_pid=pid
        )
        await asyncio.sleep(0.5)
        calls_before = command_calls(sync)
        on = await run_phase(
            "auth+limits",
            url,
            {**body, "model": "bench"},
            concurrency=50,
            duration_s=6,
            stream=False,
            cpu_pid=pid,
            api_key=LIMITED_KEY,
        )
        await asyncio.sleep(0.5)  # settlements land just after their responses
        per_request = (command_calls(sync) - calls_before) / max(on.requests + on.errors + 50, 1)
        rss_mb = _rss_mb(pid)
    sync.close()
    return {
        "direct_vs_auth_only": compare(direct, off),
        "direct_vs_auth_and_limits": compare(direct, on),
        "limits_on_vs_off_rps_ratio": round(on.requests / on.wall_s / (off.requests / off.wall_s), 4),
        "redis_commands_per_request": round(per_request, 2),
        "facade_rss_mb": round(rss_mb, 1),
    }


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench_limits",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("loadtests/results/limits.json"))
    args = parser.parse_args(argv)
    import uvloop

    uvloop.install()
    with tempfile.TemporaryDirectory(prefix="bench-limits-") as tmp:
        workdir = Path(tmp)
        server = RedisServer(workdir)
        server.start()
        try:
            report: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S")}
            report["admit_alone"] = asyncio.run(admit_alone(server.url))
            print(json.dumps(report["admit_alone"]), flush=True)
            report["facade"] = asyncio.run(through_facade(workdir, server.url))
            print(json.dumps(report["facade"]), flush=True)
        finally:
            server.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
