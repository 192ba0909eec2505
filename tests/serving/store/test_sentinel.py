"""The pipelined script connection behind Sentinel, with real servers: it connects to the
primary the Sentinels name, refuses a node that is not a primary, and follows a failover in
which the old primary stays up and is demoted (its READONLY answer sends the command on)."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from loadtests.devstack.redis_topologies import SentinelGroup
from serving.settings import StoreConfig
from serving.settings.store_address import parse_store_url
from serving.store.connection import connect_script_runner, connect_store, primary_of, sentinel_of
from serving.store.pipelined import PipelinedRedis

pytestmark = pytest.mark.ha


@pytest.fixture
def group(tmp_path: Path) -> Iterator[SentinelGroup]:
    sentinels = SentinelGroup(tmp_path)
    sentinels.start()
    try:
        yield sentinels
    finally:
        sentinels.stop()


async def test_it_refuses_a_node_that_is_not_the_primary(group: SentinelGroup) -> None:
    address = parse_store_url(group.url)

    async def the_replica() -> tuple[str, int]:
        return "127.0.0.1", group.replica.port

    runner = PipelinedRedis(address.primary_url, locate=the_replica)
    with pytest.raises(RedisConnectionError, match="is not the primary"):
        await runner.execute_command("INCR", "pc:{t}:n")
    await runner.aclose()


async def test_it_follows_a_failover_whose_old_primary_stays_up(group: SentinelGroup) -> None:
    config = StoreConfig(redis_url=group.url)
    store = connect_store(config)
    runner = connect_script_runner(config, store)
    try:
        assert await runner.execute_command("INCR", "pc:{t}:n") == 1
        first = group.primary_port()
        group.sentinel(group.sentinel_ports[0]).execute_command("SENTINEL", "FAILOVER", SentinelGroup.SERVICE)
        deadline = time.monotonic() + 30
        answers: list[object] = []
        while group.primary_port() == first or not answers or isinstance(answers[-1], RedisError):
            assert time.monotonic() < deadline, answers[-5:]
            try:
                answers.append(await runner.execute_command("INCR", "pc:{t}:n"))
            except RedisError as exc:  # while the primary is paused and demoted: the policy's answer
                answers.append(exc)
            await asyncio.sleep(0.05)
        # Within half a second of the Sentinels naming the new primary, the runner writes there.
        assert group.primary_port() != first
        await asyncio.sleep(1)
        new_primary = group.node_at(group.primary_port()).client()
        after = [await runner.execute_command("INCR", "pc:{t}:n") for _ in range(3)]
        assert after == [after[0], after[0] + 1, after[0] + 2]
        assert int(new_primary.get("pc:{t}:n") or 0) == after[-1]
        # redis-py's Sentinel-managed client follows it too (keys, usage and audit use it).
        assert int(await store.get("pc:{t}:n") or 0) == after[-1]
        # What the switch cost: increments the old primary acknowledged after its replica was
        # promoted (asynchronous replication; README: High availability).
        acknowledged = 1 + sum(1 for a in answers if isinstance(a, int))
        print(
            "acknowledged",
            acknowledged,
            "kept",
            after[0] - 1,
            "errors",
            sum(isinstance(a, RedisError) for a in answers),
        )
    finally:
        await runner.aclose()
        await store.aclose()


async def test_no_sentinel_naming_the_service_is_a_connection_error(group: SentinelGroup) -> None:
    address = parse_store_url(group.url)
    locate = functools.partial(primary_of, sentinel_of(address), "no-such-service")
    runner = PipelinedRedis(address.primary_url, locate=locate)
    with pytest.raises(RedisConnectionError, match="No Sentinel names a primary"):
        await runner.execute_command("PING")
    await runner.aclose()
