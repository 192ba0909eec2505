"""Part 5 of the report: the Responses API's overhead next to chat's, against the simulator.

At one concurrency (100 streams by default), rounds alternate: chat direct to the simulator,
chat through the façade, Responses direct, Responses through the façade. The Responses path
costs the façade a little more per stream (its usage is read from the last event, which is
parsed; the events are larger), which is what this part shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadtests import servers
from loadtests.measure import PhaseResult, compare, run_phase
from loadtests.overhead import BODY, SIMULATOR, STREAM_SECONDS

RESPONSES_BODY = {"input": [{"role": "user", "content": "Describe a migraine."}], "stream": True}


async def measure(
    workdir: Path, redis_url: str, *, streams: int = 100, per_worker: int = 3, rounds: int = 2
) -> dict[str, Any]:
    out: dict[str, Any] = {"simulator": SIMULATOR, "streams": streams}
    with (
        servers.simulator(workdir, **SIMULATOR) as sim,
        servers.facade(sim.base_url, "sim", workdir, redis_url) as facade,
    ):
        apis = {
            "chat": ("/chat/completions", BODY),
            "responses": ("/responses", RESPONSES_BODY),
        }
        results = {api: (PhaseResult("direct", streams), PhaseResult("facade", streams)) for api in apis}
        for _ in range(rounds):
            for api, (path, body) in apis.items():
                direct, via = results[api]
                sides = ((direct, sim.base_url, "sim", None), (via, facade.base_url, "bench", facade.pid))
                for result, base, model, pid in sides:
                    phase = await run_phase(
                        result.label,
                        base + path,
                        {**body, "model": model},
                        concurrency=streams,
                        per_worker=per_worker,
                        stagger_s=STREAM_SECONDS,
                        cpu_pid=pid,
                    )
                    result.add(phase)
        for api, (direct, via) in results.items():
            out[api] = compare(direct, via)
            print(f"responses  {api:<9} {streams} streams  {out[api]['added_ttft_p50_ms']} ms p50", flush=True)
    return out


async def quick_measure(workdir: Path, redis_url: str) -> dict[str, Any]:
    return await measure(workdir, redis_url, streams=5, per_worker=1, rounds=1)
