"""Part 3 of the report: a long run of mixed load through one façade process (simulator
upstream), watching for what only time shows: errors, memory, file descriptors, connections.

The mix: streaming chat (half asking for the usage chunk), non-streaming chat, clients that
hang up mid-stream, streamed consultations, and a key with a small request limit that runs
into it on purpose (its 429s are the only errors allowed)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import psutil
import yaml

from loadtests import servers
from loadtests.engine import PROMPTS
from loadtests.measure import KEY, PhaseResult, ProcessSample, one_request, one_stream
from loadtests.overhead import SIMULATOR

# Workers per kind of traffic; each sends one request after another for the whole soak.
MIX = {"stream": 40, "stream_usage": 10, "chat": 8, "abandon": 4, "consultation": 2, "limited": 1}
LIMITED_PAUSE_S = 0.2  # a few hundred requests/min against a 30/min limit
INSTANT = {"ttft_ms": 0, "itl_ms": 0, "tokens": 8}


@dataclass
class Soak:
    seconds: float
    sample_every_s: float
    limited_rpm: int
    results: dict[str, PhaseResult] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    started: float = 0.0

    def result(self, kind: str) -> PhaseResult:
        return self.results.setdefault(kind, PhaseResult(kind, MIX[kind]))


# Idle samples wait this long after the clients leave: aiohttp closes a pooled upstream
# connection between one and two keep-alive periods (30 s) after its last use.
DRAIN_S = 65.0


async def measure(
    workdir: Path,
    redis_url: str,
    *,
    seconds: float = 600.0,
    sample_every_s: float = 10.0,
    drain_s: float = DRAIN_S,
    limited_rpm: int = servers.LIMITED_RPM,
) -> dict[str, Any]:
    """`limited_rpm` must be well under what the limited key's worker can send in `seconds`
    (one request per LIMITED_PAUSE_S at best), or the run shows no refusals."""
    soak = Soak(seconds, sample_every_s, limited_rpm)
    with (
        servers.simulator(workdir, **SIMULATOR) as sim,
        servers.facade(sim.base_url, "sim", workdir, redis_url, consultation=True, limited_rpm=limited_rpm) as facade,
    ):
        # Warm up at the same load, so the "before" sample has the façade's pools filled; the
        # idle samples are taken with the clients gone, so before and after compare like for like.
        async with _session() as session:
            await _load(session, facade.base_url, soak, min(30.0, seconds / 10), record=False)
        await asyncio.sleep(drain_s)
        idle_before = ProcessSample.of(facade.pid, 0)
        peers = {_port(facade.base_url): "clients", _port(sim.base_url): "upstream", _port(redis_url): "redis"}
        peers_before = connections_by_peer(facade.pid, peers)
        usage_before = await _usage(facade.base_url)
        async with _session() as session:
            soak.started = time.monotonic()
            sampler = asyncio.create_task(_sample(facade.pid, soak, peers))
            await _load(session, facade.base_url, soak, seconds, record=True)
            sampler.cancel()
        await asyncio.sleep(drain_s)
        idle_after = ProcessSample.of(facade.pid, 0)
        peers_after = connections_by_peer(facade.pid, peers)
        usage_after = await _usage(facade.base_url)
    report = _report(soak, idle_before, idle_after, drain_s)
    report["idle_tcp_by_peer"] = {"before": peers_before, "after": peers_after}
    report["redis_pool_max"] = servers.REDIS_POOL_MAX
    report["usage"] = _usage_check(soak, usage_before, usage_after)
    return report


async def _usage(base_url: str) -> dict[str, int]:
    """The bench key's usage as the façade accounted it (/v1/usage), summed over days."""
    totals = {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
    async with (
        aiohttp.ClientSession() as session,
        session.get(base_url + "/usage", headers={"authorization": f"Bearer {KEY}"}) as response,
    ):
        rows = (await response.json())["data"]
    for row in rows:
        for name in totals:
            totals[name] += row[name]
    return totals


def _usage_check(soak: Soak, before: dict[str, int], after: dict[str, int]) -> dict[str, Any]:
    """Nothing accepted is lost: every chat request the clients finished (hung-up ones too) is
    in the façade's usage, and so are at least the tokens they received."""
    counted = {name: after[name] - before[name] for name in after}
    chat_kinds = ("stream", "stream_usage", "chat", "abandon")
    completed = sum(soak.results[kind].requests for kind in chat_kinds if kind in soak.results)
    received = sum(soak.results[kind].tokens for kind in chat_kinds if kind in soak.results)
    chat = soak.results.get("chat")
    if chat is not None:  # non-streaming answers are not counted token by token by the client
        received += chat.requests * SIMULATOR["tokens"]
    return {
        "client_requests": completed,
        "counted_requests": counted["requests"],
        "client_tokens_received": received,
        "counted_completion_tokens": counted["completion_tokens"],
        "counted_prompt_tokens": counted["prompt_tokens"],
    }


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def connections_by_peer(pid: int, roles: dict[int, str]) -> dict[str, int]:
    """The process's TCP sockets by what is at the other end (a port → role map)."""
    counts: Counter[str] = Counter()
    for connection in psutil.Process(pid).net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN:
            counts["listening"] += 1
        elif connection.laddr and connection.laddr.port in roles:
            counts[roles[connection.laddr.port]] += 1
        elif connection.raddr and connection.raddr.port in roles:
            counts[roles[connection.raddr.port]] += 1
        else:
            counts["other"] += 1
    return dict(sorted(counts.items()))


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120))


async def _sample(pid: int, soak: Soak, peers: dict[int, str]) -> None:
    while True:
        sample = asdict(ProcessSample.of(pid, soak.started))
        # Redis connections are a pool that fills up to store.max_connections by design;
        # what is left after taking them out must stay flat.
        sample["redis_connections"] = connections_by_peer(pid, peers).get("redis", 0)
        sample["requests"] = sum(r.requests for r in soak.results.values())
        sample["errors"] = {kind: dict(r.statuses) for kind, r in soak.results.items() if r.statuses}
        soak.samples.append(sample)
        await asyncio.sleep(soak.sample_every_s)


async def _load(session: aiohttp.ClientSession, base_url: str, soak: Soak, seconds: float, *, record: bool) -> None:
    chat_url, consult_url = base_url + "/chat/completions", base_url + "/consultations"
    prompts: list[str] = yaml.safe_load(PROMPTS.read_text())
    deadline = time.monotonic() + seconds
    throwaway: dict[str, PhaseResult] = {}

    def result(kind: str) -> PhaseResult:
        return soak.result(kind) if record else throwaway.setdefault(kind, PhaseResult(kind, 0))

    def chat(n: int, **extra: Any) -> dict[str, Any]:
        return {"model": "bench", "messages": [{"role": "user", "content": prompts[n % len(prompts)]}], **extra}

    calls: dict[str, Callable[[int], Awaitable[None]]] = {
        "stream": lambda n: one_stream(session, chat_url, chat(n, stream=True), result("stream")),
        "stream_usage": lambda n: one_stream(
            session,
            chat_url,
            chat(n, stream=True, stream_options={"include_usage": True}),
            result("stream_usage"),
        ),
        "chat": lambda n: one_request(session, chat_url, chat(n), result("chat")),
        "abandon": lambda n: one_stream(session, chat_url, chat(n, stream=True), result("abandon"), abandon_after=5),
        "consultation": lambda n: _consultation(
            session, consult_url, prompts[n % len(prompts)], result("consultation")
        ),
        "limited": lambda n: _limited(session, chat_url, chat(n, simulate=INSTANT), result("limited")),
    }

    async def worker(kind: str, index: int) -> None:
        await asyncio.sleep(index * 0.05)
        n = index
        while time.monotonic() < deadline:
            await calls[kind](n)
            n += 1

    await asyncio.gather(*(worker(kind, i) for kind, count in MIX.items() for i in range(count)))


async def _limited(session: aiohttp.ClientSession, url: str, body: dict[str, Any], result: PhaseResult) -> None:
    await one_request(session, url, body, result, api_key=servers.LIMITED_KEY)
    await asyncio.sleep(LIMITED_PAUSE_S)


async def _consultation(session: aiohttp.ClientSession, url: str, symptoms: str, result: PhaseResult) -> None:
    body = {"symptoms": symptoms, "patient_data": {"age": 40, "location": "02139"}, "stream": True}
    started = time.perf_counter()
    try:
        headers = {"authorization": f"Bearer {servers.CONSULTATION_KEY}"}
        async with session.post(url, json=body, headers=headers) as response:
            if response.status != 200:
                result.failed(response.status)
                await response.read()
                return
            failed = False
            async for line in response.content:
                if line.startswith(b"data: {") and json.loads(line[6:]).get("status") == "failed":
                    failed = True
    except (aiohttp.ClientError, TimeoutError):
        result.failed(0)
        return
    if failed:
        result.failed(0)
        return
    result.requests += 1
    result.latency_s.append(time.perf_counter() - started)


def _report(soak: Soak, idle_before: ProcessSample, idle_after: ProcessSample, drain_s: float) -> dict[str, Any]:
    kinds = {kind: result.summary() for kind, result in soak.results.items()}
    limit_refusals = soak.results["limited"].statuses.get(429, 0) if "limited" in soak.results else 0
    errors = sum(result.errors for result in soak.results.values())
    loaded = soak.samples[1:] or soak.samples  # the first sample is taken as the load starts
    quarter = max(1, len(loaded) // 4)
    return {
        "seconds": soak.seconds,
        "mix": MIX,
        "limited_rpm": soak.limited_rpm,
        "limited_pause_s": LIMITED_PAUSE_S,
        "kinds": kinds,
        "requests": sum(result.requests for result in soak.results.values()),
        "limit_refusals": limit_refusals,
        "other_errors": errors - limit_refusals,
        "idle_before": asdict(idle_before),
        "idle_after": asdict(idle_after),
        "drain_s": drain_s,
        # In-flight requests move the counts from sample to sample: compare the medians of the
        # first and last quarter of the run, under the same load.
        "loaded_early": _medians(loaded[:quarter]),
        "loaded_late": _medians(loaded[-quarter:]),
        "samples": soak.samples,
    }


def _medians(samples: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("rss_mb", "open_fds", "tcp_connections", "threads", "redis_connections")
    return {key: statistics.median(sample.get(key, 0) for sample in samples) for key in keys}
