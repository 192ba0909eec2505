"""The pipelined script connection behind Sentinel, with real servers: it connects to the
primary the Sentinels name, refuses a node that is not a primary, and follows a failover in
which the old primary stays up and is demoted (its READONLY answer sends the command on)."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from loadtests.devstack.redis_topologies import SentinelGroup
from serving.settings import StoreConfig
from serving.settings.store_address import parse_store_url
from serving.store.clients import connect_script_runner, connect_store, primary_of, sentinel_of
from serving.store.pipelined import PipelinedRedis
from tests.conftest import RedisServer
from tests.support.wait import eventually_async

pytestmark = pytest.mark.ha


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelGroup]:
    """A group the tests only read (the failover test starts its own)."""
    with SentinelGroup(tmp_path_factory.mktemp("sentinel")) as sentinels:
        yield sentinels


async def test_it_refuses_a_node_that_is_not_the_primary(group: SentinelGroup) -> None:
    address = parse_store_url(group.url)

    async def the_replica() -> tuple[str, int]:
        return "127.0.0.1", group.replica.port

    runner = PipelinedRedis(address.primary_url, locate=the_replica)
    with pytest.raises(RedisConnectionError, match="is not the primary"):
        await runner.execute_command("INCR", "pc:{t}:n")
    await runner.aclose()


async def test_it_leaves_a_primary_the_sentinels_stop_naming_within_the_follow_interval(tmp_path: Path) -> None:
    """Two servers stand in for a primary before and after a failover; `locate` (the Sentinels'
    answer) switches from one to the other while the old one still takes writes."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = RedisServer(tmp_path / "a"), RedisServer(tmp_path / "b")
    first.start()
    second.start()
    try:
        second.client().config_set("requirepass", first.password)  # one password, as a primary and replica share
        named = ["127.0.0.1", first.port]

        async def locate() -> tuple[str, int]:
            return named[0], named[1]

        runner = PipelinedRedis(first.url, locate=locate, follow_seconds=0.2)
        try:
            assert await runner.execute_command("INCR", "pc:{t}:n") == 1  # on the first
            named[1] = second.port
            switched = time.monotonic()
            while await runner.execute_command("INCR", "pc:{t}:n") != 1:  # still the first's count
                assert time.monotonic() - switched < 5, "the runner stayed on a primary nobody names"
                await asyncio.sleep(0.02)
            assert time.monotonic() - switched < 2  # about one follow interval (0.2 s), on a busy machine
            again = redis.Redis(host="127.0.0.1", port=second.port, password=first.password)
            assert int(again.get("pc:{t}:n") or 0) == 1
            again.close()
        finally:
            await runner.aclose()
    finally:
        first.stop()
        second.stop()


async def test_it_follows_a_failover_whose_old_primary_stays_up(tmp_path: Path) -> None:
    with SentinelGroup(tmp_path) as group:
        await follows_a_failover(group)


async def follows_a_failover(group: SentinelGroup) -> None:
    config = StoreConfig(redis_url=group.url)
    store = connect_store(config)
    runner = connect_script_runner(config, store)
    try:
        assert await runner.execute_command("INCR", "pc:{t}:n") == 1
        assert int(await store.get("pc:{t}:n") or 0) == 1  # redis-py's client holds a connection too
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

        # redis-py's Sentinel-managed client (keys, usage, audit, cache) follows once the old
        # primary is demoted: its connection there then answers READONLY or is closed.
        async def stored() -> int:
            await store.set("pc:{t}:probe", "1")  # a write: only the primary takes it
            return int(await store.get("pc:{t}:n") or 0)

        assert await eventually_async(retrying(stored), lambda n: n == after[-1], timeout=30) == after[-1]
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


def retrying(probe: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[int]]:
    """A store error (the demotion itself) reads as "not yet"."""

    async def attempt() -> int:
        try:
            return await probe()
        except RedisError:
            return -1

    return attempt


async def test_no_sentinel_naming_the_service_is_a_connection_error(group: SentinelGroup) -> None:
    address = parse_store_url(group.url)
    locate = functools.partial(primary_of, sentinel_of(address), "no-such-service")
    runner = PipelinedRedis(address.primary_url, locate=locate)
    with pytest.raises(RedisConnectionError, match="No Sentinel names a primary"):
        await runner.execute_command("PING")
    await runner.aclose()
