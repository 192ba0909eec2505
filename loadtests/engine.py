"""Part 2 of the report: against a real engine (vLLM CPU here, or any running vLLM given by
URL), tokens/s and TTFT direct vs through the façade at 1, 4 and 8 streams, and a consultation
end to end with the time of each stage."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from loadtests import servers
from loadtests.devstack.vllm_cpu import VllmCpuServer
from loadtests.measure import KEY, PhaseResult, compare, run_phase
from orchestrator.state import STAGES

PROMPTS = Path(__file__).resolve().parent / "prompts.yaml"
BODY = {
    "messages": [{"role": "user", "content": "Describe a migraine."}],
    "max_tokens": 64,
    "ignore_eos": True,  # every request makes the same number of tokens, direct or not
    "stream": True,
}


@dataclass(frozen=True)
class Engine:
    base_url: str
    model: str
    description: str


@contextmanager
def vllm_cpu(workdir: Path) -> Iterator[Engine]:
    with VllmCpuServer(log_path=workdir / "vllm.log") as vllm:
        yield Engine(vllm.base_url, vllm.served_model_name, f"vLLM CPU build, {vllm.served_model_name}, eager mode")


async def measure(
    workdir: Path,
    redis_url: str,
    engine: Engine,
    *,
    levels: tuple[int, ...] = (1, 4, 8),
    seconds_per_level: float = 60.0,
    consultations: int = 3,
) -> dict[str, Any]:
    out: dict[str, Any] = {"engine": engine.description, "streams": [], "consultations": []}
    with servers.facade(
        engine.base_url, engine.model, workdir, redis_url, consultation=True, message_format="gemma3"
    ) as facade:
        for streams in levels:
            # An engine's speed drifts from minute to minute (more so on CPU): alternate direct
            # and façade rounds so both sides see the same drift, and add the rounds up.
            direct, via = PhaseResult("direct", streams), PhaseResult("facade", streams)
            started = time.monotonic()
            while time.monotonic() - started < seconds_per_level or direct.requests < 2:
                direct.add(
                    await run_phase(
                        "direct",
                        engine.base_url + "/chat/completions",
                        {**BODY, "model": engine.model},
                        concurrency=streams,
                        per_worker=1,
                        warm=False,
                    )
                )
                via.add(
                    await run_phase(
                        "facade",
                        facade.base_url + "/chat/completions",
                        {**BODY, "model": "bench"},
                        concurrency=streams,
                        per_worker=1,
                        cpu_pid=facade.pid,
                        warm=False,
                    )
                )
            row = compare(direct, via)
            out["streams"].append(row)
            print(
                f"engine  {streams} streams  tokens/s {row['direct']['tokens_per_s']:.1f} direct, "
                f"{row['facade']['tokens_per_s']:.1f} façade (x{row['throughput_ratio']}), "
                f"TTFT p50 +{row['added_ttft_p50_ms']} ms, rounds {direct.requests // streams}",
                flush=True,
            )
        cases: list[str] = yaml.safe_load(PROMPTS.read_text())
        for n in range(consultations):
            try:
                timeline = await consultation_timeline(facade.base_url, cases[n % len(cases)])
            except (aiohttp.ClientError, TimeoutError) as exc:  # a broken run is a result, not a crash
                timeline = {"status": f"failed: {type(exc).__name__}", "total_s": 0.0, "stages": {}, "tokens": 0}
            out["consultations"].append(timeline)
            print(f"engine  consultation {n + 1}: {timeline['total_s']} s, {timeline['status']}", flush=True)
    return out


async def consultation_timeline(base_url: str, symptoms: str) -> dict[str, Any]:
    """One streamed consultation: when (seconds from the request) each stage started and ended."""
    body = {"symptoms": symptoms, "patient_data": {"age": 45, "location": "02139"}, "stream": True}
    stages: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=600)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(base_url + "/consultations", json=body, headers={"authorization": f"Bearer {KEY}"}) as response,
    ):
        if response.status != 200:
            return {"status": f"http {response.status}", "total_s": 0.0, "stages": {}, "tokens": 0}
        tokens = 0
        async for line in response.content:
            if not line.startswith(b"data: {"):
                continue
            event = json.loads(line[6:])
            if event["stage"] not in STAGES:  # the safety verdict and the closing event: not stages
                continue
            at = round(time.perf_counter() - started, 3)
            entry = stages.setdefault(event["stage"], {})
            if event["status"] == "in_progress":
                entry["start_s"] = at
            else:
                entry.update(end_s=at, status=event["status"], seconds=event.get("seconds"))
                usage = event.get("usage") or {}
                tokens += usage.get("completion_tokens", 0) + usage.get("prompt_tokens", 0)
    failed = [name for name, entry in stages.items() if entry.get("status") != "completed"]
    return {
        "status": "completed" if not failed else "failed: " + ", ".join(failed),
        "total_s": round(time.perf_counter() - started, 3),
        "stages": stages,
        "tokens": tokens,
    }
