"""The long soak (#26, "proven under time"): an hour of mixed traffic through one façade process
in front of two upstream replicas, one of them killed and restarted during the run, watching for
what only time shows. Not CI: a benchmark.

    python -m loadtests.long_soak --minutes 60 --out loadtests/results/soak-60min.json

The mix (workers sending one request after another): streaming chat (some asking for the usage
chunk), non-streaming chat, clients that hang up mid-stream, Responses API streams, chat with
patient identifiers to a `redact` backend (a GPT-5 stand-in speaking OpenAI's protocol),
deterministic requests answered from the response cache, streamed consultations, and a key with
a small request limit that runs into it on purpose (its 429s are expected).

Reported: requests and errors by kind; the errors explained by the replica's kill (streams it cut,
in the seconds it was down) and the rest ("unexplained", target 0); usage the façade recorded for
the bench key against what its clients were served (target equal); RSS and open file
descriptors at start and end of the load (target flat within 5%); `audit verify` at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import yaml

from loadtests import servers
from loadtests.bench import redis_server
from loadtests.devstack.vllm_cpu import free_port
from loadtests.engine import PROMPTS
from loadtests.measure import PhaseResult, ProcessSample, one_request, one_stream
from loadtests.soak import _consultation, _limited, _medians, _usage, connections_by_peer

MIX = {
    "stream": 20,
    "stream_usage": 6,
    "chat": 6,
    "abandon": 4,
    "responses": 4,
    "redact": 4,
    "cached": 3,
    "consultation": 2,
    "limited": 1,
}
BENCH_KINDS = ("stream", "stream_usage", "chat", "abandon", "responses", "redact")  # the bench key's traffic
SIMULATED = {"ttft_ms": 20, "itl_ms": 15, "tokens": 24}
CACHE_KEY = "sk-bench-cached-0123456789abcdefghijkl"
PROVIDER_KEY = "sk-bench-provider-0123456789"
PHI_PROMPTS = (
    "My name is Dolores Haverford, DOB 03/04/1950, MRN 00471122, and I have had a cough for a week.",
    "Patient: KOWALCZYK, Marek, phone (708) 555-0193, lives at 12 Larkspur Close, Oxford. Knee pain.",
    "hi its sunil yadav, email sunil.y@example.com, my ssn is 078-05-1121, i need a refill",
)
KILL_EXPLAINS_S = 15.0  # errors this long after the kill or the restart are the kill's
CACHED_PAUSE_S = 0.05
WARM_UP_S = 30.0
DRAIN_S = 65.0  # aiohttp closes an idle pooled connection between one and two keep-alive periods


@dataclass
class Run:
    seconds: float
    results: dict[str, PhaseResult] = field(default_factory=dict)
    failures: list[tuple[float, str, int]] = field(default_factory=list)  # (seconds in, kind, status)
    samples: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, float] = field(default_factory=dict)  # "killed", "restarted": seconds in
    started: float = 0.0

    def result(self, kind: str) -> PhaseResult:
        return self.results.setdefault(kind, TimedResult(kind, MIX[kind], run=self))


@dataclass
class TimedResult(PhaseResult):
    run: Run | None = None

    def failed(self, status: int) -> None:
        super().failed(status)
        if self.run is not None:
            self.run.failures.append((round(time.monotonic() - self.run.started, 1), self.label, status))


class Replica:
    """A simulator on a fixed port that can be killed (SIGKILL) and started again on it."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._log = workdir / f"replica-{port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "loadtests.simulator", "--port", str(self.port)]
        command += [f"--{name.replace('_', '-')}={value}" for name, value in SIMULATED.items()]
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"replica on {self.port} did not start")

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()


async def measure(workdir: Path, redis_url: str, *, seconds: float, sample_every_s: float = 30.0) -> dict[str, Any]:
    run = Run(seconds)
    first, second = Replica(workdir, free_port()), Replica(workdir, free_port())
    for replica in (first, second):
        replica.start()
    extra = {
        "backends": {
            "gpt": {
                "kind": "openai",
                "base_url": "",  # set below, once the GPT-5 stand-in runs
                "model": "gpt-5",
                "api_key": PROVIDER_KEY,
                "data_policy": "redact",
            }
        },
        "models": {"redacted": ["gpt"]},
        "keys": [{"key": CACHE_KEY, "name": "cached", "response_cache": True}],
        "cache": {"enabled": True, "ttl_seconds": 3600},
    }
    try:
        with servers.simulator(workdir, **SIMULATED) as gpt:
            extra["backends"]["gpt"]["base_url"] = gpt.base_url  # type: ignore[index]
            with servers.facade(
                first.base_url, "sim", workdir, redis_url, consultation=True, endpoints=[second.base_url], extra=extra
            ) as facade:
                report = await _soak(run, facade, first, second, sample_every_s, redis_url, gpt.base_url)
                report["audit"] = _audit_verify(workdir, facade.base_url)
    finally:
        for replica in (first, second):
            replica.kill()
    return report


async def _soak(
    run: Run,
    facade: servers.Server,
    victim: Replica,
    survivor: Replica,
    sample_every_s: float,
    redis_url: str,
    gpt_url: str,
) -> dict[str, Any]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:  # pools filled
        warm = Run(min(WARM_UP_S, run.seconds / 10))
        warm.started = time.monotonic()
        await _load(session, facade.base_url, warm)
    await asyncio.sleep(DRAIN_S)
    usage_before = await _usage(facade.base_url)
    start_sample = ProcessSample.of(facade.pid, 0)
    peers = {
        _port(facade.base_url): "clients",
        victim.port: "upstream (killed)",
        survivor.port: "upstream",
        _port(gpt_url): "gpt",
        _port(redis_url): "redis",
    }
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120)
    ) as session:
        run.started = time.monotonic()
        sampler = asyncio.create_task(_sample(facade.pid, run, sample_every_s, peers))
        chaos = asyncio.create_task(_kill_and_restart(run, victim))
        await _load(session, facade.base_url, run)
        sampler.cancel()
        await chaos
    await asyncio.sleep(DRAIN_S)  # settlements of the last requests, idle connections closed
    end_sample = ProcessSample.of(facade.pid, run.started)
    usage_after = await _usage(facade.base_url)
    return _report(run, start_sample, end_sample, usage_before, usage_after)


async def _kill_and_restart(run: Run, victim: Replica) -> None:
    await asyncio.sleep(run.seconds / 3)
    victim.kill()
    run.events["killed"] = round(time.monotonic() - run.started, 1)
    await asyncio.sleep(min(120.0, run.seconds / 10))
    await asyncio.to_thread(victim.start)
    run.events["restarted"] = round(time.monotonic() - run.started, 1)


async def _sample(pid: int, run: Run, every_s: float, peers: dict[int, str]) -> None:
    while True:
        sample = asdict(ProcessSample.of(pid, run.started))
        sample["requests"] = sum(r.requests for r in run.results.values())
        sample["errors"] = sum(r.errors for r in run.results.values())
        sample["connections"] = connections_by_peer(pid, peers)
        run.samples.append(sample)
        await asyncio.sleep(every_s)


async def _load(session: aiohttp.ClientSession, base_url: str, run: Run) -> None:
    prompts: list[str] = yaml.safe_load(PROMPTS.read_text())
    chat_url, responses_url = base_url + "/chat/completions", base_url + "/responses"
    deadline = run.started + run.seconds

    def chat(n: int, model: str = "bench", **more: Any) -> dict[str, Any]:
        return {"model": model, "messages": [{"role": "user", "content": prompts[n % len(prompts)]}], **more}

    async def cached(n: int) -> None:  # a handful of deterministic questions asked again and again
        body = chat(n % 5, stream=bool(n % 2), temperature=0)
        headers = {"authorization": f"Bearer {CACHE_KEY}", "x-pearcare-cache": "on"}
        result = run.result("cached")
        try:
            async with session.post(chat_url, json=body, headers=headers) as response:
                await response.read()
                if response.status == 200:
                    result.requests += 1
                else:
                    result.failed(response.status)
        except (aiohttp.ClientError, TimeoutError):
            result.failed(0)
        await asyncio.sleep(CACHED_PAUSE_S)  # a hit is answered at once: paced, a part of the mix

    calls: dict[str, Callable[[int], Awaitable[None]]] = {
        "stream": lambda n: one_stream(session, chat_url, chat(n, stream=True), run.result("stream")),
        "stream_usage": lambda n: one_stream(
            session, chat_url, chat(n, stream=True, stream_options={"include_usage": True}), run.result("stream_usage")
        ),
        "chat": lambda n: one_request(session, chat_url, chat(n), run.result("chat")),
        "abandon": lambda n: one_stream(
            session, chat_url, chat(n, stream=True), run.result("abandon"), abandon_after=5
        ),
        "responses": lambda n: one_stream(
            session,
            responses_url,
            {"model": "bench", "input": prompts[n % len(prompts)], "stream": True, "store": False},
            run.result("responses"),
        ),
        "redact": lambda n: one_stream(
            session,
            chat_url,
            {"model": "redacted", "messages": [{"role": "user", "content": PHI_PROMPTS[n % 3]}], "stream": True},
            run.result("redact"),
        ),
        "cached": cached,
        "consultation": lambda n: _consultation(
            session, base_url + "/consultations", prompts[n % len(prompts)], run.result("consultation")
        ),
        "limited": lambda n: _limited(session, chat_url, chat(n), run.result("limited")),
    }

    async def worker(kind: str, index: int) -> None:
        await asyncio.sleep(index * 0.05)
        n = index
        while time.monotonic() < deadline:
            await calls[kind](n)
            n += 1

    await asyncio.gather(*(worker(kind, i) for kind, count in MIX.items() for i in range(count)))


def _explained(run: Run, at_s: float) -> bool:
    """An error in the seconds after the replica was killed or came back (streams it cut)."""
    return any(0 <= at_s - moment <= KILL_EXPLAINS_S for moment in run.events.values())


def _report(
    run: Run,
    start: ProcessSample,
    end: ProcessSample,
    usage_before: dict[str, int],
    usage_after: dict[str, int],
) -> dict[str, Any]:
    limited = run.results.get("limited")
    expected = [f for f in run.failures if f[1] == "limited" and f[2] == 429]
    by_kill = [f for f in run.failures if f not in expected and _explained(run, f[0])]
    unexplained = [f for f in run.failures if f not in expected and f not in by_kill]
    served = sum(run.results[k].requests for k in BENCH_KINDS if k in run.results)
    counted = usage_after["requests"] - usage_before["requests"]
    return {
        "seconds": run.seconds,
        "mix": MIX,
        "events": run.events,
        "kinds": {kind: result.summary() for kind, result in run.results.items()},
        "requests": sum(result.requests for result in run.results.values()),
        "limit_refusals": len(expected) if limited else 0,
        "errors_explained_by_the_kill": len(by_kill),
        "unexplained_errors": len(unexplained),
        "unexplained": unexplained[:50],
        "usage": {
            # Recorded includes the streams the kill cut: served in part, counted in full.
            "bench_requests_served": served,
            "bench_streams_cut_by_the_kill": len([f for f in by_kill if f[1] in BENCH_KINDS]),
            "bench_requests_recorded": counted,
            "bench_completion_tokens_recorded": usage_after["completion_tokens"] - usage_before["completion_tokens"],
        },
        "process": {  # idle, before the load (after a warm-up) and after it (after a drain)
            "start": asdict(start),
            "end": asdict(end),
            "rss_change": round(end.rss_mb / start.rss_mb - 1, 3),
            "fds_change": round(end.open_fds / start.open_fds - 1, 3),
        },
        "loaded_first_quarter": _medians(run.samples[: max(1, len(run.samples) // 4)]),
        "loaded_last_quarter": _medians(run.samples[-max(1, len(run.samples) // 4) :]),
        "samples": run.samples,
    }


def _audit_verify(workdir: Path, base_url: str) -> dict[str, Any]:
    config = sorted(workdir.glob(f"facade-{_port(base_url)}.yaml"))[0]
    done = subprocess.run(
        [sys.executable, "-m", "serving", "audit", "--config", str(config), "verify"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return {"exit": done.returncode, "output": (done.stdout + done.stderr).strip()[-400:]}


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--sample-every", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=Path("loadtests/results/soak-60min.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pearcare-soak-") as scratch, redis_server(Path(scratch)) as redis_url:
        report = asyncio.run(
            measure(Path(scratch), redis_url, seconds=args.minutes * 60, sample_every_s=args.sample_every)
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    summary = {
        k: report[k] for k in ("requests", "limit_refusals", "errors_explained_by_the_kill", "unexplained_errors")
    }
    print(
        json.dumps(
            {**summary, "usage": report["usage"], "process": report["process"], "audit": report["audit"]}, indent=2
        )
    )


if __name__ == "__main__":
    main()
