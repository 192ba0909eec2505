"""uvicorn against granian (an ASGI server written in Rust) serving the same façade app, in the
same rounds against the upstream simulator: streams at 100 and 500, and the most non-streaming
requests/s, with one worker process each (and two with --workers 2).

    .venv/bin/python -m loadtests.asgi_servers [--workers 1] [--rounds 2]

Writes loadtests/results/asgi-servers.{json,md}. CPU is the server's whole process tree
(granian serves from a worker process under its main one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil

from loadtests import servers
from loadtests.bench import redis_server
from loadtests.measure import PhaseResult, compare, run_phase
from loadtests.overhead import BODY, INSTANT, SIMULATOR, STREAM_SECONDS
from serving.settings import REPO_ROOT

SERVERS = ("uvicorn", "granian")


def tree_cpu_seconds(pid: int) -> float:
    root = psutil.Process(pid)
    total = 0.0
    for process in (root, *root.children(recursive=True)):
        times = process.cpu_times()
        total += times.user + times.system
    return total


async def _phase(server: servers.Server | None, url: str, body: dict[str, Any], **options: Any) -> PhaseResult:
    before = tree_cpu_seconds(server.pid) if server else 0.0
    result = await run_phase(**options, label="", url=url, body=body)
    if server:
        result.cpu_s = tree_cpu_seconds(server.pid) - before
    return result


async def measure(
    workdir: Path,
    redis_url: str,
    *,
    levels: tuple[int, ...] = (100, 500),
    per_worker: int = 2,
    rounds: int = 2,
    non_streaming_s: float = 4.0,
    workers: int = 1,
) -> dict[str, Any]:
    out: dict[str, Any] = {"simulator": SIMULATOR, "workers": workers, "streaming": []}
    non_streaming: dict[str, Any] = {}
    with ExitStack() as stack:
        sim = stack.enter_context(servers.simulator(workdir, **SIMULATOR))
        running = {
            name: stack.enter_context(
                servers.facade(sim.base_url, "sim", workdir, redis_url, workers=workers, asgi_server=name)
            )
            for name in SERVERS
        }
        for streams in levels:
            direct = PhaseResult("direct", streams)
            via = {name: PhaseResult(name, streams) for name in SERVERS}
            options = {"concurrency": streams, "per_worker": per_worker, "stagger_s": STREAM_SECONDS}
            for _ in range(rounds):
                direct.add(await _phase(None, sim.base_url + "/chat/completions", {**BODY, "model": "sim"}, **options))
                for name, server in running.items():
                    url = server.base_url + "/chat/completions"
                    via[name].add(await _phase(server, url, {**BODY, "model": "bench"}, **options))
            by_server = {name: compare(direct, result) for name, result in via.items()}
            out["streaming"].append({"streams": streams, "servers": by_server})
            for name, compared in by_server.items():
                print(f"asgi  {streams} streams  {name:8}  {_brief(compared)}", flush=True)

        options = {"concurrency": 50, "duration_s": non_streaming_s, "stream": False}
        direct = await _phase(None, sim.base_url + "/chat/completions", {**INSTANT, "model": "sim"}, **options)
        for name, server in running.items():
            url = server.base_url + "/chat/completions"
            via_one = await _phase(server, url, {**INSTANT, "model": "bench"}, **options)
            non_streaming[name] = compare(direct, via_one)
            print(f"asgi  non-streaming  {name:8}  {_brief(non_streaming[name])}", flush=True)
    out["non_streaming"] = non_streaming
    return out


def _brief(row: dict[str, Any]) -> str:
    facade = row["facade"]
    return (
        f"x{row['throughput_ratio']}  +{row['added_ttft_p50_ms']} ms TTFT p50  +{row['added_ttft_p99_ms']} ms p99  "
        f"{facade['requests_per_s']:.0f} req/s  errors {facade['errors']}"
    )


def render(result: dict[str, Any]) -> str:
    lines = [
        f"# uvicorn vs granian, {result['workers']} worker(s) each, one run",
        "",
        "| load | server | throughput vs direct | requests/s | added TTFT p50 | p99 | CPU µs/token "
        "| CPU ms/request | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows = [(f"{row['streams']} streams", row["servers"]) for row in result["streaming"]]
    rows.append(("non-streaming, 50 clients", result["non_streaming"]))
    for load, by_server in rows:
        for name, row in by_server.items():
            facade = row["facade"]
            per_token = facade["cpu_us_per_token"]
            ttft = [row["added_ttft_p50_ms"], row["added_ttft_p99_ms"]]
            cells = [
                load,
                name,
                f"{row['throughput_ratio']:.3f}×",
                f"{facade['requests_per_s']:,.0f}",
                *("" if value is None else f"{value:+.2f} ms" for value in ttft),
                "" if per_token is None else f"{per_token:.0f}",
                f"{facade['cpu_ms_per_request'] or 0:.2f}",
                str(facade["errors"]),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--levels", default="100,500", help="concurrent streams, comma-separated")
    parser.add_argument("--per-worker", type=int, default=2, help="streams each client sends per round")
    parser.add_argument("--non-streaming-seconds", type=float, default=4.0)
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "loadtests" / "results")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="asgi-servers-") as tmp:
        workdir = Path(tmp)
        with redis_server(workdir) as redis_url:
            result = asyncio.run(
                measure(
                    workdir,
                    redis_url,
                    levels=tuple(int(level) for level in args.levels.split(",")),
                    per_worker=args.per_worker,
                    rounds=args.rounds,
                    non_streaming_s=args.non_streaming_seconds,
                    workers=args.workers,
                )
            )
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "asgi-servers.json").write_text(json.dumps(result, indent=2))
    (args.out_dir / "asgi-servers.md").write_text(render(result))
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
