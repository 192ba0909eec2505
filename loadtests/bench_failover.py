"""A store failover under load, measured (#28; README: High availability): two façades on a
3-primary Redis Cluster, then on a Sentinel-watched primary; requests from 6 threads; the
primary holding the key is SIGKILLed (or, `sentinel-manual`, SENTINEL FAILOVER moves it while the
old primary stays up; `sentinel-planned`, the same after CLIENT PAUSE 5000 WRITE on it); every
answer kept until service has been back for 3 s.

    .venv/bin/python -m loadtests.bench_failover [--runs 3]

Writes loadtests/results/failover.json and prints, per run: the answers by status, how long
the façades refused (503 + Retry-After, failure_policy closed), and served requests the usage
lost. The same scenario is a test (tests/serving/store/test_failover_http.py)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtests import servers
from loadtests.devstack.redis_topologies import RedisClusterGroup, SentinelGroup
from loadtests.failover import run_failover
from loadtests.measure import KEY
from serving.access.keys import hash_key
from serving.settings import REPO_ROOT
from serving.store.connection import key_for

FAST = {"ttft_ms": 1, "itl_ms": 1, "tokens": 2}


def one_run(workdir: Path, topology: str) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        group: RedisClusterGroup | SentinelGroup
        if topology == "cluster":
            group = RedisClusterGroup(workdir / "cluster", primaries=3)
        else:
            group = SentinelGroup(workdir / "sentinel")
        stack.enter_context(group)
        sim = stack.enter_context(servers.simulator(workdir, **FAST))
        facades = [stack.enter_context(servers.facade(sim.base_url, "sim", workdir, group.url)) for _ in range(2)]
        kill: Callable[[], object]
        if isinstance(group, RedisClusterGroup):
            kill = group.primary_for(key_for(hash_key(KEY), "key")).kill
        elif topology == "sentinel-manual":  # the old primary stays up and is demoted later
            kill = functools.partial(group.sentinel(group.sentinel_ports[0]).sentinel_failover, SentinelGroup.SERVICE)
        elif topology == "sentinel-planned":  # the same, its writes paused first (README: High availability)
            kill = functools.partial(planned_failover, group)
        else:
            kill = group.node_at(group.primary_port()).kill
        run = run_failover([f.base_url for f in facades], KEY, kill, model="bench")
        return {"topology": topology, **run.summary()}


def planned_failover(group: SentinelGroup) -> None:
    """What an operator runs for maintenance: writes paused on the primary (CLIENT PAUSE … WRITE),
    then the failover; nothing the old primary takes after its replica's promotion is lost."""
    group.node_at(group.primary_port()).client().client_pause(5000, all=False)  # WRITE: reads go on
    group.sentinel(group.sentinel_ports[0]).sentinel_failover(SentinelGroup.SERVICE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench_failover", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "loadtests" / "results" / "failover.json")
    args = parser.parse_args(argv)
    results = []
    for topology in ("cluster", "sentinel", "sentinel-manual", "sentinel-planned"):
        for index in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="pearcare-failover-") as tmp:
                result = one_run(Path(tmp), topology)
            results.append(result)
            print(f"{topology} run {index + 1}: {result}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
