"""Client-side measurement for the benchmarks: drive N concurrent streams or requests at a URL
and record time to first token, end-to-end latency and tokens; sample a server process's CPU,
memory, file descriptors and connections from outside it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import psutil
from prometheus_client.parser import text_string_to_metric_families

KEY = "sk-bench-0123456789abcdefghijklmnopqrstuv"


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


@dataclass
class PhaseResult:
    label: str
    concurrency: int
    requests: int = 0
    errors: int = 0
    tokens: int = 0
    wall_s: float = 0.0
    ttft_s: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    cpu_s: float | None = None
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, other: PhaseResult) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.tokens += other.tokens
        self.wall_s += other.wall_s
        self.ttft_s += other.ttft_s
        self.latency_s += other.latency_s
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        if other.cpu_s is not None:
            self.cpu_s = (self.cpu_s or 0.0) + other.cpu_s

    def failed(self, status: int) -> None:
        """status 0: the connection broke."""
        self.errors += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "error_statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "tokens_per_s": self.tokens / self.wall_s if self.wall_s else 0.0,
            "requests_per_s": self.requests / self.wall_s if self.wall_s else 0.0,
            "ttft_p50_ms": _ms(percentile(self.ttft_s, 0.5)),
            "ttft_p99_ms": _ms(percentile(self.ttft_s, 0.99)),
            "latency_p50_ms": _ms(percentile(self.latency_s, 0.5)),
            "latency_p99_ms": _ms(percentile(self.latency_s, 0.99)),
            "cpu_ms_per_request": _ms(self.cpu_s / self.requests) if self.cpu_s and self.requests else None,
            "cpu_us_per_token": self.cpu_s / self.tokens * 1e6 if self.cpu_s and self.tokens else None,
            "cpu_utilisation": self.cpu_s / self.wall_s if self.cpu_s and self.wall_s else None,
        }


def compare(direct: PhaseResult, via: PhaseResult) -> dict[str, Any]:
    d, f = direct.summary(), via.summary()

    def delta(key: str) -> float | None:
        return None if d[key] is None or f[key] is None else round(f[key] - d[key], 3)

    throughput_key = "tokens_per_s" if d["tokens_per_s"] else "requests_per_s"
    return {
        "concurrency": direct.concurrency,
        "direct": d,
        "facade": f,
        "added_ttft_p50_ms": delta("ttft_p50_ms"),
        "added_ttft_p99_ms": delta("ttft_p99_ms"),
        "added_latency_p50_ms": delta("latency_p50_ms"),
        "added_latency_p99_ms": delta("latency_p99_ms"),
        "throughput_ratio": round(f[throughput_key] / d[throughput_key], 4) if d[throughput_key] else None,
    }


def _headers(api_key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {api_key}"}


async def one_stream(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    result: PhaseResult,
    api_key: str = KEY,
    abandon_after: int | None = None,
) -> None:
    """One SSE request; abandon_after: hang up after that many events (a client going away)."""
    started = time.perf_counter()
    first = None
    tokens = 0
    try:
        async with session.post(url, json=body, headers=_headers(api_key)) as response:
            if response.status != 200:
                result.failed(response.status)
                await response.read()
                return
            async for line in response.content:
                if line.startswith(b"data: {"):
                    if b'"type":"response.' in line:  # the Responses API: a token is a text delta
                        if b'"type":"response.output_text.delta"' not in line:
                            continue
                        first = first or time.perf_counter()
                        tokens += 1
                        continue
                    if first is None:
                        first = time.perf_counter()
                    if (b'"content":"' in line and b'"content":""' not in line) or b'"text":"' in line:
                        tokens += 1  # not the first event's empty content (it carries the role)
                    if b'"error"' in line and b'"choices"' not in line:
                        result.failed(0)  # a mid-stream error event
                        return
                    if abandon_after is not None and tokens >= abandon_after:
                        response.close()
                        break
    except (aiohttp.ClientError, TimeoutError):
        result.failed(0)
        return
    finished = time.perf_counter()
    result.requests += 1
    result.tokens += tokens
    if first is not None:
        result.ttft_s.append(first - started)
    result.latency_s.append(finished - started)


async def one_request(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], result: PhaseResult, api_key: str = KEY
) -> None:
    started = time.perf_counter()
    try:
        async with session.post(url, json=body, headers=_headers(api_key)) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError):
        status = 0
    if status == 200:
        result.requests += 1
        result.latency_s.append(time.perf_counter() - started)
    else:
        result.failed(status)


async def run_phase(
    label: str,
    url: str,
    body: dict[str, Any],
    *,
    concurrency: int,
    per_worker: int | None = None,
    duration_s: float | None = None,
    stream: bool = True,
    cpu_pid: int | None = None,
    stagger_s: float = 0.0,
    api_key: str = KEY,
    warm: bool = True,
    vary: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> PhaseResult:
    """`concurrency` workers, each sending one request after another (per_worker of them, or
    until duration_s); cpu_pid: a server process whose CPU time the phase is charged; vary:
    makes each request's body from `body` (e.g. a text no cache has seen)."""
    result = PhaseResult(label, concurrency)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        call = one_stream if stream else one_request
        if warm:  # the connection pools on both sides
            await asyncio.gather(
                *(call(session, url, body, PhaseResult("warm", 0), api_key) for _ in range(min(concurrency, 20)))
            )
        cpu_before = process_cpu_seconds(cpu_pid) if cpu_pid else None
        deadline = time.perf_counter() + duration_s if duration_s else None

        async def worker(offset: float) -> None:
            # Workers start spread over one request's duration, so arrivals are continuous
            # (as in production) rather than 100 requests landing in the same millisecond.
            await asyncio.sleep(offset)
            done = 0
            while (per_worker is None or done < per_worker) and (deadline is None or time.perf_counter() < deadline):
                await call(session, url, body if vary is None else vary(body), result, api_key)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(stagger_s * i / concurrency) for i in range(concurrency)))
        result.wall_s = time.perf_counter() - started
        if cpu_pid and cpu_before is not None:
            result.cpu_s = process_cpu_seconds(cpu_pid) - cpu_before
    return result


def histogram_totals(metrics_text: str, names: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """(sum, count) of each named histogram in a Prometheus exposition, over all its labels."""
    totals = {name: (0.0, 0.0) for name in names}
    for family in text_string_to_metric_families(metrics_text):
        if family.name not in totals:
            continue
        total, count = totals[family.name]
        for sample in family.samples:
            if sample.name.endswith("_sum"):
                total += sample.value
            elif sample.name.endswith("_count"):
                count += sample.value
        totals[family.name] = (total, count)
    return totals


def mean_ms_between(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> dict[str, float | None]:
    """The mean of each histogram's observations made between two scrapes, in milliseconds."""
    means: dict[str, float | None] = {}
    for name, (total, count) in after.items():
        earlier_total, earlier_count = before.get(name, (0.0, 0.0))
        observed = count - earlier_count
        means[name] = round((total - earlier_total) / observed * 1000, 3) if observed else None
    return means


def process_cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


@dataclass(frozen=True)
class ProcessSample:
    """A server process seen from outside: what a leak would make grow."""

    at_s: float
    rss_mb: float
    open_fds: int
    tcp_connections: int
    threads: int

    @classmethod
    def of(cls, pid: int, since: float) -> ProcessSample:
        process = psutil.Process(pid)
        return cls(
            at_s=round(time.monotonic() - since, 2),
            rss_mb=round(process.memory_info().rss / 2**20, 1),
            open_fds=process.num_fds(),
            tcp_connections=len(process.net_connections(kind="tcp")),
            threads=process.num_threads(),
        )
