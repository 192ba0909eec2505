"""Part 1 of the report: what the façade adds, against the upstream simulator.

At each concurrency, rounds of direct-to-simulator, through a bare Python proxy (the floor:
what any extra process in the path costs here) and through the façade alternate (so all see
the same machine noise) and are added up: added TTFT p50/p99, added end-to-end latency,
throughput ratio, façade CPU per request and token, RSS. Then the most non-streaming
requests/s one façade process passes, and optionally a py-spy profile of the façade under
100 streams (what the remaining cost is)."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from loadtests import servers
from loadtests.measure import PhaseResult, ProcessSample, compare, histogram_totals, mean_ms_between, run_phase
from loadtests.profile import profile_during

SIMULATOR = {"ttft_ms": 50, "itl_ms": 20, "tokens": 64}
STREAM_SECONDS = (SIMULATOR["ttft_ms"] + SIMULATOR["itl_ms"] * (SIMULATOR["tokens"] - 1)) / 1000
BODY = {"messages": [{"role": "user", "content": "Describe a migraine."}], "stream": True}
INSTANT = {
    "messages": [{"role": "user", "content": "hi"}],
    "simulate": {"ttft_ms": 0, "itl_ms": 0, "tokens": 8},
}


@dataclass(frozen=True)
class Level:
    streams: int
    per_worker: int  # requests per worker per round
    rounds: int = 2


LEVELS = (Level(1, 12), Level(10, 3), Level(100, 3), Level(500, 2))
QUICK_LEVELS = (Level(1, 2, 1), Level(10, 1, 1))


async def measure(
    workdir: Path,
    redis_url: str,
    *,
    levels: tuple[Level, ...] = LEVELS,
    non_streaming_s: float = 6.0,
    profile_s: float = 0.0,
    baseline: Path | None = None,
    budgets: bool = False,
) -> dict[str, Any]:
    """baseline: another checkout whose façade runs beside this one, in the same rounds (the
    `baseline` entries: a change's before and after measured in one run). budgets: this façade's
    key belongs to a tenant and has dollar budgets (servers.facade); a baseline's never."""
    out: dict[str, Any] = {"simulator": SIMULATOR, "streaming": []}
    with contextlib.ExitStack() as stack:
        sim = stack.enter_context(servers.simulator(workdir, **SIMULATOR))
        bare = stack.enter_context(servers.bare_proxy(workdir, sim.base_url))
        facade = stack.enter_context(servers.facade(sim.base_url, "sim", workdir, redis_url, budgets=budgets))
        before = None
        if baseline is not None:
            before = stack.enter_context(servers.facade(sim.base_url, "sim", workdir, redis_url, source=baseline))
        direct_url = sim.base_url + "/chat/completions"
        bare_url = bare.base_url + "/chat/completions"
        facade_url = facade.base_url + "/chat/completions"
        out["facade_idle"] = asdict(ProcessSample.of(facade.pid, 0))
        for level in levels:
            direct, via = PhaseResult("direct", level.streams), PhaseResult("facade", level.streams)
            floor = PhaseResult("bare", level.streams)
            was = PhaseResult("baseline", level.streams)
            sides = [
                (direct, direct_url, "sim", None),
                (floor, bare_url, "sim", bare.pid),
                (via, facade_url, "bench", facade.pid),
            ]
            if before is not None:
                sides.append((was, before.base_url + "/chat/completions", "bench", before.pid))
            steps_before = await _facade_steps(facade.base_url)
            for _ in range(level.rounds):
                for result, url, model, pid in sides:
                    phase = await run_phase(
                        result.label,
                        url,
                        {**BODY, "model": model},
                        concurrency=level.streams,
                        per_worker=level.per_worker,
                        stagger_s=STREAM_SECONDS,
                        cpu_pid=pid,
                    )
                    result.add(phase)
            row = compare(direct, via)
            row["bare"] = compare(direct, floor)
            if before is not None:
                row["baseline"] = compare(direct, was)
            row["facade_steps_ms"] = mean_ms_between(steps_before, await _facade_steps(facade.base_url))
            row["facade_rss_mb"] = ProcessSample.of(facade.pid, 0).rss_mb
            out["streaming"].append(row)
            print(f"overhead  {level.streams:>3} streams  {_brief(row)}", flush=True)

        direct = await run_phase(
            "direct", direct_url, {**INSTANT, "model": "sim"}, concurrency=50, duration_s=non_streaming_s, stream=False
        )
        via = await run_phase(
            "facade",
            facade_url,
            {**INSTANT, "model": "bench"},
            concurrency=50,
            duration_s=non_streaming_s,
            stream=False,
            cpu_pid=facade.pid,
        )
        out["non_streaming"] = compare(direct, via)
        if before is not None:
            was_ns = await run_phase(
                "baseline",
                before.base_url + "/chat/completions",
                {**INSTANT, "model": "bench"},
                concurrency=50,
                duration_s=non_streaming_s,
                stream=False,
                cpu_pid=before.pid,
            )
            out["non_streaming"]["baseline"] = compare(direct, was_ns)
        out["facade_rss_mb"] = ProcessSample.of(facade.pid, 0).rss_mb
        print(f"overhead  non-streaming  {_brief(out['non_streaming'])}", flush=True)

        if profile_s:
            streams = 100
            out["profile"] = await profile_during(
                facade.pid,
                workdir / "facade-profile.txt",
                run_phase(
                    "profiled",
                    facade_url,
                    {**BODY, "model": "bench"},
                    concurrency=streams,
                    duration_s=profile_s,
                    stagger_s=STREAM_SECONDS,
                ),
                seconds=profile_s,
            )
            if out["profile"]:
                out["profile"]["streams"] = streams
    return out


# The façade's own timings of its steps (mean per request, from its /metrics).
STEPS = ("pearcare_store_round_trip_seconds", "pearcare_backend_response_start_seconds")


async def _facade_steps(base_url: str) -> dict[str, tuple[float, float]]:
    async with aiohttp.ClientSession() as session, session.get(base_url.removesuffix("/v1") + "/metrics") as response:
        return histogram_totals(await response.text(), STEPS)


def _brief(row: dict[str, Any]) -> str:
    baseline = row.get("baseline")
    was = (
        f", baseline: TTFT p50 {baseline['added_ttft_p50_ms']} ms, {baseline['facade']['requests_per_s']:.0f} req/s, "
        f"{baseline['facade']['cpu_us_per_token'] or 0:.0f} us CPU/token"
        if baseline
        else ""
    )
    return (
        f"added TTFT p50 {row['added_ttft_p50_ms']} ms p99 {row['added_ttft_p99_ms']} ms "
        f"(bare proxy {row['bare']['added_ttft_p50_ms'] if 'bare' in row else '-'} ms), "
        f"latency p50 {row['added_latency_p50_ms']} ms, throughput x{row['throughput_ratio']}, "
        f"façade {row['facade']['requests_per_s']:.0f} req/s, "
        f"{row['facade']['cpu_us_per_token'] or 0:.0f} us CPU/token, "
        f"errors {row['direct']['errors']}/{row['facade']['errors']}{was}"
    )
