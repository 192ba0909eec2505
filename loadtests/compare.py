"""Part 6 of the report: the gateways side by side at 50, 100 and 200 streams, in the same rounds
against the same simulator: direct, the bare-proxy floor, this façade and, with
`--reference litellm`, LiteLLM's proxy (loadtests/reference.py: pinned 1.106.2, one worker,
no database). Rounds alternate so every gateway sees the same machine noise."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from loadtests import reference, servers
from loadtests.measure import PhaseResult, compare, run_phase
from loadtests.overhead import BODY, SIMULATOR, STREAM_SECONDS

LEVELS = (50, 100, 200)


async def measure(
    workdir: Path,
    redis_url: str,
    *,
    with_litellm: bool,
    levels: tuple[int, ...] = LEVELS,
    per_worker: int = 3,
    rounds: int = 2,
) -> dict[str, Any]:
    out: dict[str, Any] = {"simulator": SIMULATOR, "levels": []}
    with ExitStack() as stack:
        sim = stack.enter_context(servers.simulator(workdir, **SIMULATOR))
        gateways = {
            "bare proxy": (stack.enter_context(servers.bare_proxy(workdir, sim.base_url)), "sim"),
            "this façade": (stack.enter_context(servers.facade(sim.base_url, "sim", workdir, redis_url)), "bench"),
        }
        if with_litellm:
            litellm = stack.enter_context(reference.litellm_proxy(workdir, sim.base_url, "sim"))
            gateways[f"LiteLLM {reference.LITELLM_VERSION}"] = (litellm, "bench")
            out["litellm_version"] = reference.LITELLM_VERSION
        for streams in levels:
            direct = PhaseResult("direct", streams)
            via = {name: PhaseResult(name, streams) for name in gateways}
            for _ in range(rounds):
                direct.add(await _phase("direct", sim.base_url, "sim", streams, per_worker, None))
                for name, (server, model) in gateways.items():
                    via[name].add(await _phase(name, server.base_url, model, streams, per_worker, server.pid))
            row = {name: compare(direct, result) for name, result in via.items()}
            out["levels"].append({"streams": streams, "gateways": row})
            brief = ", ".join(f"{n} x{r['throughput_ratio']} +{r['added_ttft_p50_ms']} ms" for n, r in row.items())
            print(f"compare  {streams:>3} streams  {brief}", flush=True)
    return out


async def _phase(label: str, base_url: str, model: str, streams: int, per_worker: int, pid: int | None) -> PhaseResult:
    return await run_phase(
        label,
        base_url + "/chat/completions",
        {**BODY, "model": model},
        concurrency=streams,
        per_worker=per_worker,
        stagger_s=STREAM_SECONDS,
        cpu_pid=pid,
    )
