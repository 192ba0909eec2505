"""The store with failover, with real servers: façade processes on a 3-primary Redis Cluster
(each primary with a replica) and on a Sentinel-watched primary. Limits stay exact across
façades; a primary killed under load costs the policy's answer (503 + Retry-After under
`closed`) for the seconds the failover takes, never a 500 or a wrong grant, and service
resumes with no restart."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from loadtests.devstack.redis_topologies import RedisClusterGroup, SentinelGroup
from loadtests.failover import FailoverRun, run_failover
from serving.access.keys import hash_key
from serving.store.connection import key_for
from tests.support.stack import Facade, facade, facade_config, simulator, vllm_backend

pytestmark = pytest.mark.ha
ADMIN_KEY = "admin-0123456789abcdefghijklmnop"
HELLO = [{"role": "user", "content": "Hello"}]


def stack_config(sim_url: str, redis_url: str) -> dict[str, Any]:
    return facade_config(
        backends={"sim": vllm_backend(sim_url, "sim-model")},
        models={"medgemma": ["sim"]},
        store={"redis_url": redis_url, "admin_key": ADMIN_KEY, "failure_policy": "closed", "default_max_tokens": 100},
        probe_interval_seconds=0.2,
    )


def create_key(facade_: Facade, **fields: Any) -> str:
    response = httpx.post(
        facade_.root_url + "/admin/keys",
        json={"name": "ha", **fields},
        headers={"authorization": f"Bearer {ADMIN_KEY}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


def two_facades(stack: ExitStack, tmp: Path, redis_url: str) -> list[Facade]:
    sim = stack.enter_context(simulator(tmp, "--ttft-ms", "1", "--itl-ms", "1", "--tokens", "2"))
    config = stack_config(sim.base_url, redis_url)
    return [stack.enter_context(facade(tmp, config)) for _ in range(2)]


async def burst(facades: list[Facade], key: str, count: int) -> list[httpx.Response]:
    content = orjson.dumps({"model": "medgemma", "messages": HELLO, "max_tokens": 2})
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=count)) as client:
        return await asyncio.gather(
            *(
                client.post(facades[i % 2].base_url + "/chat/completions", content=content, headers=headers)
                for i in range(count)
            )
        )


def test_two_facades_on_a_cluster_admit_exactly_the_request_limit(cluster: RedisClusterGroup, tmp_path: Path) -> None:
    with ExitStack() as stack:
        facades = two_facades(stack, tmp_path, cluster.url)
        assert httpx.get(facades[0].root_url + "/health/ready").json()["store"]["kind"] == "cluster"
        keys = [create_key(facades[0], rpm=30) for _ in range(3)]  # hashed over the cluster's slots
        for key in keys:
            statuses = [r.status_code for r in asyncio.run(burst(facades, key, 90))]
            assert statuses.count(200) == 30 and statuses.count(429) == 60
        # Usage read back across the cluster's slots (one pipeline, split by node), per key.
        admin = {"authorization": f"Bearer {ADMIN_KEY}"}
        usage = httpx.get(facades[1].root_url + "/admin/usage", headers=admin).json()["data"]
        ids = {row["id"] for row in httpx.get(facades[1].root_url + "/admin/keys", headers=admin).json()["data"]}
        by_key = {row["key_id"]: row["requests"] for row in usage if row["key_id"] in ids}
        assert sorted(by_key.values()) == [30, 30, 30]
        # The audit trail's chain (a WATCH/MULTI transaction on its own slot) kept every record.
        records = httpx.get(facades[0].root_url + "/admin/audit", params={"kind": "request"}, headers=admin).json()
        assert len(records["data"]) >= 90
        print("key records on primaries", sorted(cluster.primary_for(key_for(hash_key(k), "key")).port for k in keys))


def assert_failover_answers(run: FailoverRun) -> None:
    """Only the policy's answer while the store is away; served again after, with no restart."""
    print("failover", run.summary())
    assert set(run.statuses) <= {200, 503}, run.statuses
    for answer in run.failed:
        assert answer.retry_after is not None and int(answer.retry_after) >= 1
        assert answer.code == "service_unavailable"
        assert answer.at >= 0  # nothing failed before the kill
    assert run.failed, "the kill cost nothing: the load did not reach the killed primary"
    # Service resumed with no restart: every client thread served for 3 s in a row, within the
    # run's 60 s bound (a liveness bound: the failover ends and the façades follow it).
    assert run.resumed, run.summary()
    # Served requests are in the usage (a settlement that met the outage waited and replayed);
    # asynchronous replication may lose what the killed primary acknowledged last, and a
    # settlement whose reply the failover cut may count twice: a few either way, no more.
    assert abs(run.lost) <= 3, run.summary()


def test_a_cluster_primary_killed_under_load(tmp_path: Path) -> None:
    with ExitStack() as stack:
        group = stack.enter_context(RedisClusterGroup(tmp_path / "cluster", primaries=3))
        facades = two_facades(stack, tmp_path, group.url)
        key = create_key(facades[0])
        doomed = group.primary_for(key_for(hash_key(key), "key"))
        run = run_failover([f.base_url for f in facades], key, doomed.kill)
        assert_failover_answers(run)
        group.wait_healthy(replicated=False)  # the replica took over its slots
        assert group.primary_for(key_for(hash_key(key), "key")).port != doomed.port


def test_a_sentinel_failover_under_load(tmp_path: Path) -> None:
    with ExitStack() as stack:
        group = stack.enter_context(SentinelGroup(tmp_path / "sentinel"))
        facades = two_facades(stack, tmp_path, group.url)
        assert httpx.get(facades[0].root_url + "/health/ready").json()["store"]["kind"] == "sentinel"
        key = create_key(facades[0])
        first = group.primary_port()
        run = run_failover([f.base_url for f in facades], key, group.node_at(first).kill)
        assert_failover_answers(run)
        assert group.primary_port() != first
