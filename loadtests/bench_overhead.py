"""Façade overhead benchmark: direct-to-upstream vs through the façade (auth and Redis rate
limits on, Redis on loopback), in one run, same machine.

    .venv/bin/python -m loadtests.bench_overhead [--vllm] [--out loadtests/results/overhead.json]

1. Against the upstream simulator (TTFT 50 ms, 20 ms/token, 64 tokens): added time to first
   token p50/p99 and throughput at 10 and 100 concurrent streams; façade CPU per request/token.
2. Max non-streaming requests/s (simulator answers at once), direct vs façade.
3. With --vllm, against the real vLLM CPU server: tokens/s and TTFT direct vs façade at 1, 4, 8 streams.
A benchmark, not a test: it asserts nothing, it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from serving.devstack.processes import running
from serving.devstack.redis_server import RedisServer
from serving.devstack.vllm_cpu import VllmCpuServer, free_port

KEY = "sk-bench-0123456789abcdefghijklmnopqrstuv"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class PhaseResult:
    label: str
    concurrency: int
    requests: int = 0
    errors: int = 0
    tokens: int = 0
    wall_s: float = 0.0
    ttft_s: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    cpu_s: float | None = None

    def add(self, other: PhaseResult) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.tokens += other.tokens
        self.wall_s += other.wall_s
        self.ttft_s += other.ttft_s
        self.latency_s += other.latency_s
        if other.cpu_s is not None:
            self.cpu_s = (self.cpu_s or 0.0) + other.cpu_s

    def summary(self) -> dict[str, Any]:
        def pct(values: list[float], q: float) -> float | None:
            if not values:
                return None
            ordered = sorted(values)
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

        return {
            "label": self.label,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "tokens_per_s": self.tokens / self.wall_s if self.wall_s else 0.0,
            "requests_per_s": self.requests / self.wall_s if self.wall_s else 0.0,
            "ttft_p50_ms": _ms(pct(self.ttft_s, 0.5)),
            "ttft_p99_ms": _ms(pct(self.ttft_s, 0.99)),
            "latency_p50_ms": _ms(pct(self.latency_s, 0.5)),
            "latency_p99_ms": _ms(pct(self.latency_s, 0.99)),
            "cpu_ms_per_request": _ms(self.cpu_s / self.requests) if self.cpu_s and self.requests else None,
            "cpu_us_per_token": self.cpu_s / self.tokens * 1e6 if self.cpu_s and self.tokens else None,
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


async def one_stream(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], result: PhaseResult, api_key: str = KEY
) -> None:
    started = time.perf_counter()
    first = None
    tokens = 0
    try:
        async with session.post(url, json=body, headers={"authorization": f"Bearer {api_key}"}) as response:
            if response.status != 200:
                result.errors += 1
                await response.read()
                return
            async for line in response.content:
                if line.startswith(b"data: {"):
                    if first is None:
                        first = time.perf_counter()
                    if b'"content":"' in line or b'"text":"' in line:
                        tokens += 1
    except aiohttp.ClientError:
        result.errors += 1
        return
    finished = time.perf_counter()
    result.requests += 1
    result.tokens += tokens
    if first is not None:
        result.ttft_s.append(first - started)
    result.latency_s.append(finished - started)


async def one_request(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], result: PhaseResult, api_key: str = KEY
) -> None:
    started = time.perf_counter()
    try:
        async with session.post(url, json=body, headers={"authorization": f"Bearer {api_key}"}) as response:
            await response.read()
            ok = response.status == 200
    except aiohttp.ClientError:
        ok = False
    if ok:
        result.requests += 1
        result.latency_s.append(time.perf_counter() - started)
    else:
        result.errors += 1


async def run_phase(
    label: str,
    url: str,
    body: dict[str, Any],
    *,
    concurrency: int,
    per_worker: int | None = None,
    duration_s: float | None = None,
    stream: bool = True,
    cpu_pid: int | None = None,
    stagger_s: float = 0.0,
    api_key: str = KEY,
    warm: bool = True,
) -> PhaseResult:
    result = PhaseResult(label, concurrency)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        call = one_stream if stream else one_request
        if warm:  # the connection pools on both sides
            await asyncio.gather(
                *(call(session, url, body, PhaseResult("warm", 0), api_key) for _ in range(min(concurrency, 20)))
            )
        cpu_before = process_cpu_seconds(cpu_pid) if cpu_pid else None
        deadline = time.perf_counter() + duration_s if duration_s else None

        async def worker(offset: float) -> None:
            # Workers start spread over one request's duration, so arrivals are continuous
            # (as in production) rather than 100 requests landing in the same millisecond.
            await asyncio.sleep(offset)
            done = 0
            while (per_worker is None or done < per_worker) and (deadline is None or time.perf_counter() < deadline):
                await call(session, url, body, result, api_key)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(stagger_s * i / concurrency) for i in range(concurrency)))
        result.wall_s = time.perf_counter() - started
        if cpu_pid and cpu_before is not None:
            result.cpu_s = process_cpu_seconds(cpu_pid) - cpu_before
    return result


@contextmanager
def facade_for(upstream_url: str, model: str, workdir: Path, redis_url: str) -> Iterator[tuple[str, int]]:
    """One façade process with auth and Redis rate limits on (limits high enough never to refuse)."""
    port = free_port()
    config = {
        "server": {"log_level": "warning"},
        "backends": {"up": {"kind": "vllm", "base_url": upstream_url, "model": model}},
        "models": {"bench": ["up"]},
        "keys": [{"key": KEY, "name": "bench", "rpm": 10**9, "tpm": 10**12}],
        "store": {"redis_url": redis_url},
    }
    path = workdir / f"facade-{port}.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "serving", "--config", str(path), "--port", str(port)]
    with running(command, f"http://127.0.0.1:{port}/health", workdir / f"facade-{port}.log") as process:
        yield f"http://127.0.0.1:{port}/v1", process.pid


def compare(direct: PhaseResult, via: PhaseResult) -> dict[str, Any]:
    d, f = direct.summary(), via.summary()

    def delta(key: str) -> float | None:
        return None if d[key] is None or f[key] is None else round(f[key] - d[key], 3)

    throughput_key = "tokens_per_s" if d["tokens_per_s"] else "requests_per_s"
    return {
        "concurrency": direct.concurrency,
        "direct": d,
        "facade": f,
        "added_ttft_p50_ms": delta("ttft_p50_ms"),
        "added_ttft_p99_ms": delta("ttft_p99_ms"),
        "added_latency_p50_ms": delta("latency_p50_ms"),
        "throughput_ratio": round(f[throughput_key] / d[throughput_key], 4) if d[throughput_key] else None,
    }


async def simulator_part(workdir: Path, redis_url: str) -> dict[str, Any]:
    out: dict[str, Any] = {"simulator": {"ttft_ms": 50, "itl_ms": 20, "tokens": 64}}
    sim_port = free_port()
    sim = [
        sys.executable,
        "-m",
        "loadtests.simulator",
        "--port",
        str(sim_port),
        "--ttft-ms",
        "50",
        "--itl-ms",
        "20",
        "--tokens",
        "64",
    ]
    with ExitStack() as stack:
        stack.enter_context(running(sim, f"http://127.0.0.1:{sim_port}/health", workdir / "sim.log"))
        direct_url = f"http://127.0.0.1:{sim_port}/v1/chat/completions"
        facade_url, facade_pid = stack.enter_context(
            facade_for(f"http://127.0.0.1:{sim_port}/v1", "sim", workdir, redis_url)
        )
        body = {"model": "sim", "messages": [{"role": "user", "content": "Describe a migraine."}], "stream": True}
        streams = []
        stream_s = (50 + 20 * 63) / 1000
        for concurrency in (10, 100):
            per_worker = 6
            direct = await run_phase(
                "direct",
                direct_url,
                {**body, "model": "sim"},
                concurrency=concurrency,
                per_worker=per_worker,
                stagger_s=stream_s,
            )
            via = await run_phase(
                "facade",
                facade_url + "/chat/completions",
                {**body, "model": "bench"},
                concurrency=concurrency,
                per_worker=per_worker,
                cpu_pid=facade_pid,
                stagger_s=stream_s,
            )
            streams.append(compare(direct, via))
            print(json.dumps(streams[-1]), flush=True)
        out["streaming"] = streams
        quick = {
            "model": "sim",
            "messages": [{"role": "user", "content": "hi"}],
            "simulate": {"ttft_ms": 0, "itl_ms": 0, "tokens": 8},
        }
        direct = await run_phase("direct", direct_url, quick, concurrency=50, duration_s=6, stream=False)
        via = await run_phase(
            "facade",
            facade_url + "/chat/completions",
            {**quick, "model": "bench"},
            concurrency=50,
            duration_s=6,
            stream=False,
            cpu_pid=facade_pid,
        )
        out["non_streaming"] = compare(direct, via)
        print(json.dumps(out["non_streaming"]), flush=True)
    return out


async def vllm_part(workdir: Path, redis_url: str) -> dict[str, Any]:
    results = []
    with (
        VllmCpuServer(log_path=workdir / "vllm.log") as vllm,
        facade_for(vllm.base_url, vllm.served_model_name, workdir, redis_url) as (facade_url, facade_pid),
    ):
        body = {
            "messages": [{"role": "user", "content": "Describe a migraine."}],
            "max_tokens": 64,
            "ignore_eos": True,
            "stream": True,
        }
        for concurrency in (1, 4, 8):
            # A CPU engine's speed drifts from minute to minute: alternate direct and façade
            # rounds so both sides see the same drift, and add the rounds up.
            direct, via = PhaseResult("direct", concurrency), PhaseResult("facade", concurrency)
            for _ in range(max(3, 8 // concurrency)):
                direct.add(
                    await run_phase(
                        "direct",
                        vllm.base_url + "/chat/completions",
                        {**body, "model": vllm.served_model_name},
                        concurrency=concurrency,
                        per_worker=1,
                        warm=False,
                    )
                )
                via.add(
                    await run_phase(
                        "facade",
                        facade_url + "/chat/completions",
                        {**body, "model": "bench"},
                        concurrency=concurrency,
                        per_worker=1,
                        cpu_pid=facade_pid,
                        warm=False,
                    )
                )
            results.append(compare(direct, via))
            print(json.dumps(results[-1]), flush=True)
    return {"vllm_cpu": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench_overhead",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--vllm", action="store_true", help="also measure against the real vLLM CPU server")
    parser.add_argument("--skip-simulator", action="store_true", help="only the vLLM part (with --vllm)")
    parser.add_argument("--out", type=Path, default=Path("loadtests/results/overhead.json"))
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        report: dict[str, Any] = {"cpus": os.cpu_count(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
        redis = RedisServer(workdir)
        redis.start()
        try:
            if not args.skip_simulator:
                report.update(asyncio.run(simulator_part(workdir, redis.url)))
            if args.vllm:
                report.update(asyncio.run(vllm_part(workdir, redis.url)))
        finally:
            redis.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
