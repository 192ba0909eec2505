"""What one Redis script call costs the façade's process: redis-py's asyncio client (as the
façade called admission and settlement until #16) against the one auto-pipelined connection
they now run on (serving/store/pipelined.py: each call one write, replies matched in order by
a reader task). Both run EVALSHA of the same script against a private redis-server; then, on
a private 3-primary cluster, redis-py's cluster client against what the façade runs the
scripts with there (a pipelined connection per primary, routed by slot).

    .venv/bin/python -m loadtests.redis_client_cost [--calls 20000] [--concurrency 50]

Writes loadtests/results/redis-client-cost.json and prints µs per call (wall, both sides in
one run on this machine: compare the ratio, not the absolute figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from loadtests.devstack.redis_server import RedisServer
from loadtests.devstack.redis_topologies import RedisClusterGroup
from serving.settings import REPO_ROOT, StoreConfig
from serving.store.clients import connect_script_runner, connect_store
from serving.store.connection import LuaScript
from serving.store.pipelined import PipelinedRedis

SCRIPT = "return redis.call('INCR', KEYS[1])"


async def via_redis_py(url: str, calls: int, concurrency: int) -> tuple[float, int]:
    client = aioredis.Redis.from_url(url, max_connections=64)
    try:
        sha = await client.script_load(SCRIPT)

        async def worker() -> None:
            for _ in range(calls // concurrency):
                await client.evalsha(sha, 1, "redis-py")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        return seconds, int(await client.get("redis-py") or 0)
    finally:
        await client.aclose()


async def via_pipelined_connection(url: str, calls: int, concurrency: int) -> tuple[float, int]:
    """The façade's own pipelined connection (serving/store/pipelined.py)."""
    store = PipelinedRedis(url)
    try:
        sha = (await store.execute_command("SCRIPT", "LOAD", SCRIPT)).decode()

        async def worker() -> None:
            for _ in range(calls // concurrency):
                await store.execute_command("EVALSHA", sha, 1, "pipelined")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        return seconds, int(await store.execute_command("GET", "pipelined"))
    finally:
        await store.aclose()


async def via_cluster_client(url: str, calls: int, concurrency: int) -> tuple[float, int]:
    """redis-py's cluster client, as the façade runs scripts on a Redis Cluster
    (serving/store/connection.py): it routes each call by its key's slot."""
    client = connect_store(StoreConfig(redis_url=url))
    try:
        script = LuaScript(SCRIPT)  # EVALSHA, and EVAL once where the node lacks it

        async def worker() -> None:
            for _ in range(calls // concurrency):
                await script.run(client, ["{cluster}"], [])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        return seconds, int(await client.get("{cluster}") or 0)
    finally:
        await client.aclose()


async def via_cluster_scripts(url: str, calls: int, concurrency: int) -> tuple[float, int]:
    """What the façade runs the scripts with on a cluster: a pipelined connection per primary,
    routed by slot (serving/store/cluster_scripts.py)."""
    config = StoreConfig(redis_url=url)
    client = connect_store(config)
    runner = connect_script_runner(config, client)
    try:
        script = LuaScript(SCRIPT)

        async def worker() -> None:
            for _ in range(calls // concurrency):
                await script.run(runner, ["{scripts}"], [])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        return seconds, int(await client.get("{scripts}") or 0)
    finally:
        await runner.aclose()
        await client.aclose()


async def measure(calls: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="redis-cost-") as workdir:
        server = RedisServer(Path(workdir))
        server.start()
        cluster = RedisClusterGroup(Path(workdir) / "cluster", primaries=3)
        cluster.start()
        try:
            redis_py, counted_redis_py = await via_redis_py(server.url, calls, concurrency)
            pipelined, counted_pipelined = await via_pipelined_connection(server.url, calls, concurrency)
            on_cluster, counted_cluster = await via_cluster_client(cluster.url, calls, concurrency)
            routed, counted_routed = await via_cluster_scripts(cluster.url, calls, concurrency)
        finally:
            server.stop()
            cluster.stop()
    done = calls // concurrency * concurrency
    return {
        "calls": done,
        "concurrency": concurrency,
        "redis_py_us_per_call": round(redis_py / done * 1e6, 1),
        "pipelined_us_per_call": round(pipelined / done * 1e6, 1),
        "cluster_client_us_per_call": round(on_cluster / done * 1e6, 1),
        "cluster_pipelined_us_per_call": round(routed / done * 1e6, 1),
        "ratio": round(redis_py / pipelined, 1),
        "counted": {
            "redis_py": counted_redis_py,
            "pipelined": counted_pipelined,
            "cluster": counted_cluster,
            "cluster_pipelined": counted_routed,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "loadtests" / "results")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(measure(args.calls, args.concurrency))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "redis-client-cost.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
