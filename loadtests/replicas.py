"""Part 4 of the report: one façade balancing four simulated vLLM replicas of unequal speed.

Each replica is an engine with a capacity (`max_running` sequences, more wait) and a prefix
cache (a prompt whose leading text it saw recently starts faster). Three façades over the same
replicas, rounds alternating: round robin (what a Kubernetes Service gives per connection),
least outstanding requests (power of two choices), and least outstanding with prefix affinity
(consistent hashing with bounded loads). Clients are conversations: each turn resends the
conversation's system prompt and first question. Reported: tokens/s against the replicas'
summed capacity, TTFT p50/p99, and the prefix cache's hit rate, against one replica of the
same total capacity serving everything (the hit rate balancing can at best keep)."""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from loadtests.devstack.processes import running
from loadtests.devstack.vllm_cpu import free_port
from loadtests.measure import KEY, PhaseResult, run_phase

TOKENS = 32
TTFT_MS, PREFIX_TTFT_MS = 120, 15  # a prompt's prefill, and with its prefix cached
PREFIXES_KEPT = 48  # per replica: its KV cache holds ~48 conversations' prefixes, fewer than all 121


@dataclass(frozen=True)
class Replica:
    itl_ms: int
    max_running: int

    @property
    def tokens_per_s(self) -> float:
        """Its capacity: every slot busy, each sequence's prefix cached (the best case)."""
        return self.max_running * TOKENS / ((PREFIX_TTFT_MS + TOKENS * self.itl_ms) / 1000)


# 160 sequences at once over four replicas, 200 clients: the engines are the bottleneck.
REPLICAS = (Replica(20, 40), Replica(20, 40), Replica(20, 40), Replica(40, 40))  # the fourth: half speed
CONVERSATIONS = 121  # not a multiple of the replicas: round robin must not line up by chance
STRATEGIES = {
    "round robin": {"balancing": "round_robin", "prefix_affinity": False},
    "least outstanding": {"balancing": "least_request", "prefix_affinity": False},
    "least outstanding + prefix affinity": {"balancing": "least_request", "prefix_affinity": True},
}


@contextlib.contextmanager
def replica(workdir: Path, spec: Replica) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "loadtests.simulator", "--port", str(port), "--tokens", str(TOKENS)]
    command += ["--ttft-ms", str(TTFT_MS), "--prefix-ttft-ms", str(PREFIX_TTFT_MS)]
    command += ["--itl-ms", str(spec.itl_ms), "--max-running", str(spec.max_running)]
    command += ["--prefix-cache-size", str(PREFIXES_KEPT * spec.max_running // 40)]
    with running(command, f"http://127.0.0.1:{port}/health", workdir / f"replica-{port}.log"):
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def balancing_facade(workdir: Path, urls: list[str], redis_url: str, options: dict[str, Any]) -> Iterator[str]:
    port = free_port()
    backend = {
        "kind": "vllm",
        "base_url": urls[0] + "/v1",
        "endpoints": [url + "/v1" for url in urls[1:]],
        "model": "sim-model",
        "scrape_load_seconds": 1,
        **options,
    }
    config = {
        "server": {"log_level": "warning"},
        "backends": {"group": backend},
        "models": {"bench": ["group"]},
        "keys": [{"key": KEY, "name": "bench"}],
        "store": {"redis_url": redis_url},
        "audit": {"spool_dir": str(workdir / f"spool-{port}")},
    }
    path = workdir / f"facade-{port}.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "serving", "--config", str(path), "--port", str(port)]
    with running(command, f"http://127.0.0.1:{port}/health", workdir / f"facade-{port}.log"):
        yield f"http://127.0.0.1:{port}/v1"


def conversation_turns() -> Any:
    """Bodies for a stream of conversation turns: (conversation, turn) drawn round and round."""
    counter = itertools.count()

    def vary(body: dict[str, Any]) -> dict[str, Any]:
        n = next(counter)
        conversation, turn = n % CONVERSATIONS, n // CONVERSATIONS
        messages = [
            {"role": "system", "content": f"You are the assistant of clinic {conversation}. " + "Policy. " * 40},
            {"role": "user", "content": f"Conversation {conversation}: my first question."},
            {"role": "assistant", "content": "An answer."},
            {"role": "user", "content": f"Follow-up {turn}."},
        ]
        return {**body, "messages": messages}

    return vary


async def _stats(urls: list[str]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as client:
        return [(await client.get(url + "/stats")).json() for url in urls]


def _hit_rate(stats: list[dict[str, Any]]) -> tuple[int, int]:
    return sum(s["prefix_hits"] for s in stats), sum(s["prefix_lookups"] for s in stats)


async def measure(workdir: Path, redis_url: str, *, streams: int = 200, seconds: float = 30.0) -> dict[str, Any]:
    ideal = sum(spec.tokens_per_s for spec in REPLICAS)
    out: dict[str, Any] = {
        "replicas": [{"itl_ms": r.itl_ms, "max_running": r.max_running} for r in REPLICAS],
        "tokens": TOKENS,
        "ttft_ms": TTFT_MS,
        "prefix_ttft_ms": PREFIX_TTFT_MS,
        "streams": streams,
        "seconds": seconds,
        "ideal_tokens_per_s": round(ideal),
        "strategies": {},
    }
    body = {"model": "bench", "stream": True, "max_tokens": TOKENS}
    for name, options in STRATEGIES.items():
        with ExitStack() as stack:  # fresh replicas (empty caches) for each strategy
            urls = [stack.enter_context(replica(workdir, spec)) for spec in REPLICAS]
            facade_url = stack.enter_context(balancing_facade(workdir, urls, redis_url, options))
            result = PhaseResult(name, streams)
            result.add(
                await run_phase(
                    name,
                    facade_url + "/chat/completions",
                    body,
                    concurrency=streams,
                    duration_s=seconds,
                    stagger_s=0.5,
                    vary=conversation_turns(),
                    warm=False,
                )
            )
            stats = await _stats(urls)
            hits, lookups = _hit_rate(stats)
            summary = result.summary()
            out["strategies"][name] = {
                **summary,
                "throughput_vs_ideal": round(summary["tokens_per_s"] / ideal, 3) if summary["tokens_per_s"] else None,
                "prefix_hit_rate": round(hits / lookups, 3) if lookups else None,
                "per_replica": [s["requests"] for s in stats],
            }
    # The reference: one replica with the four's capacity, whose one cache sees every request.
    with ExitStack() as stack:
        big = Replica(20, sum(r.max_running for r in REPLICAS))
        url = stack.enter_context(replica(workdir, big))
        result = PhaseResult("one replica", streams)
        result.add(
            await run_phase(
                "one replica",
                url + "/v1/chat/completions",
                {**body, "model": "sim-model"},
                concurrency=streams,
                duration_s=seconds,
                stagger_s=0.5,
                vary=conversation_turns(),
                warm=False,
            )
        )
        hits, lookups = _hit_rate(await _stats([url]))
        out["single_replica_hit_rate"] = round(hits / lookups, 3) if lookups else None
    return out


def quick_measure(workdir: Path, redis_url: str) -> Any:
    return measure(workdir, redis_url, streams=20, seconds=1.0)
