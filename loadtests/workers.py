"""Part 7 of the report: one façade process against `server.workers` of them, at 500 streams
(where one process saturates), against the simulator; rounds alternate with direct."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from loadtests import servers
from loadtests.measure import PhaseResult, compare, run_phase
from loadtests.overhead import BODY, SIMULATOR, STREAM_SECONDS


async def measure(
    workdir: Path, redis_url: str, *, streams: int = 500, counts: tuple[int, ...] = (1, 2), per_worker: int = 2
) -> dict[str, Any]:
    out: dict[str, Any] = {"simulator": SIMULATOR, "streams": streams, "cores": os.cpu_count(), "workers": {}}
    with ExitStack() as stack:
        sim = stack.enter_context(servers.simulator(workdir, **SIMULATOR))
        facades = {
            count: stack.enter_context(servers.facade(sim.base_url, "sim", workdir, redis_url, workers=count))
            for count in counts
        }
        direct = PhaseResult("direct", streams)
        via = {count: PhaseResult(f"{count} workers", streams) for count in counts}
        body = {**BODY, "model": "bench"}
        for _ in range(2):
            direct.add(
                await run_phase(
                    "direct",
                    sim.base_url + "/chat/completions",
                    {**BODY, "model": "sim"},
                    concurrency=streams,
                    per_worker=per_worker,
                    stagger_s=STREAM_SECONDS,
                )
            )
            for count, server in facades.items():
                via[count].add(
                    await run_phase(
                        f"{count} workers",
                        server.base_url + "/chat/completions",
                        body,
                        concurrency=streams,
                        per_worker=per_worker,
                        stagger_s=STREAM_SECONDS,
                    )
                )
        for count, result in via.items():
            row = compare(direct, result)
            out["workers"][str(count)] = row
            print(
                f"workers  {count}  {streams} streams  x{row['throughput_ratio']} +{row['added_ttft_p50_ms']} ms",
                flush=True,
            )
    return out
