"""What tracing and the cluster store cost the façade, side by side in one run (#28).

Five sides, in alternating rounds at 100 streams against the upstream simulator (as
loadtests/overhead.py measures): direct to the simulator; the façade on one redis-server with
tracing off (the baseline); tracing on with every trace kept (sampled in) and exported over
OTLP/HTTP to a receiver process; tracing on with none kept (sampled out); and the façade on a
3-primary Redis Cluster (each primary with a replica), tracing off. Then the most
non-streaming requests/s each façade passes (50 at once).

    .venv/bin/python -m loadtests.ha_tracing_cost [--rounds 3] [--per-worker 3]

Writes loadtests/results/ha-tracing-cost.json; prints added TTFT p50/p99 over direct, CPU per
streamed token and requests/s for each side (this machine is noisy: compare within the run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from loadtests import servers
from loadtests.devstack.processes import running
from loadtests.devstack.redis_server import RedisServer
from loadtests.devstack.redis_topologies import RedisClusterGroup
from loadtests.devstack.vllm_cpu import free_port
from loadtests.measure import PhaseResult, compare, run_phase
from loadtests.overhead import BODY, INSTANT, SIMULATOR, STREAM_SECONDS
from serving.settings import REPO_ROOT

# Traced last: its exporter drains spans in the background for a while after its own phase.
SIDES = ("single", "sampled_out", "cluster", "traced")


async def measure(
    workdir: Path, *, streams: int, rounds: int, per_worker: int, non_streaming_s: float
) -> dict[str, Any]:
    out: dict[str, Any] = {"simulator": SIMULATOR, "streams": streams, "rounds": rounds}
    with contextlib.ExitStack() as stack:
        redis = RedisServer(workdir)
        redis.start()
        stack.callback(redis.stop)
        cluster = stack.enter_context(RedisClusterGroup(workdir / "cluster", primaries=3))
        receiver_port = free_port()
        stack.enter_context(
            running(
                [sys.executable, "-m", "loadtests.devstack.otlp_receiver", "--port", str(receiver_port)],
                f"http://127.0.0.1:{receiver_port}/health",
                workdir / "otlp-receiver.log",
            )
        )
        endpoint = f"http://127.0.0.1:{receiver_port}/v1/traces"
        sim = stack.enter_context(servers.simulator(workdir, **SIMULATOR))

        def facade(redis_url: str, tracing: dict[str, Any] | None = None) -> servers.Server:
            extra = {"tracing": tracing} if tracing else None
            return stack.enter_context(servers.facade(sim.base_url, "sim", workdir, redis_url, extra=extra))

        facades = {
            "single": facade(redis.url),
            "traced": facade(redis.url, {"otlp_endpoint": endpoint, "sample_ratio": 1.0}),
            "sampled_out": facade(redis.url, {"otlp_endpoint": endpoint, "sample_ratio": 0.0}),
            "cluster": facade(cluster.url),
        }
        direct = PhaseResult("direct", streams)
        via = {name: PhaseResult(name, streams) for name in SIDES}
        for _ in range(rounds):
            sides = [(direct, sim.base_url, "sim", None)] + [
                (via[name], facades[name].base_url, "bench", facades[name].pid) for name in SIDES
            ]
            for result, base_url, model, pid in sides:
                result.add(
                    await run_phase(
                        result.label,
                        base_url + "/chat/completions",
                        {**BODY, "model": model},
                        concurrency=streams,
                        per_worker=per_worker,
                        stagger_s=STREAM_SECONDS,
                        cpu_pid=pid,
                    )
                )
        out["streaming"] = {name: compare(direct, via[name]) for name in SIDES}
        out["non_streaming"] = {}
        for name in SIDES:
            phase = await run_phase(
                name,
                facades[name].base_url + "/chat/completions",
                {**INSTANT, "model": "bench"},
                concurrency=50,
                duration_s=non_streaming_s,
                stream=False,
                cpu_pid=facades[name].pid,
            )
            out["non_streaming"][name] = phase.summary()
    return out


def report(result: dict[str, Any]) -> None:
    base = result["streaming"]["single"]
    for name in SIDES:
        row = result["streaming"][name]
        facade = row["facade"]
        rps = result["non_streaming"][name]["requests_per_s"]
        print(
            f"{name:>11}: TTFT +{row['added_ttft_p50_ms']} ms p50 (+{row['added_ttft_p99_ms']} p99), "
            f"vs single {row['added_ttft_p50_ms'] - base['added_ttft_p50_ms']:+.2f} ms; "
            f"{facade['cpu_us_per_token'] or 0:.0f} us CPU/token; throughput {row['throughput_ratio']} of direct; "
            f"non-streaming {rps:.0f} req/s",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.ha_tracing_cost", description=__doc__)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-worker", type=int, default=3)
    parser.add_argument("--non-streaming-seconds", type=float, default=6.0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "loadtests" / "results" / "ha-tracing-cost.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pearcare-ha-cost-") as tmp:
        result = asyncio.run(
            measure(
                Path(tmp),
                streams=args.streams,
                rounds=args.rounds,
                per_worker=args.per_worker,
                non_streaming_s=args.non_streaming_seconds,
            )
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
