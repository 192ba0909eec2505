"""Settlement against a real redis-server: usage aggregates, failures counted."""

from __future__ import annotations

import dataclasses
import time

from redis.asyncio import Redis

from serving.access.admission import Admission
from serving.access.limits import Grant, day_name, day_number
from serving.access.settlement import Settlements
from serving.observability.metrics import Metrics
from serving.store.connection import key_for
from tests.conftest import RedisServer
from tests.support.keys import Connect, make_key


async def test_usage_aggregates_count_failures_too(connect: Connect) -> None:
    redis = connect()
    key_hash, _ = await make_key(redis)
    admission = Admission(redis, metrics=Metrics())
    settlements = Settlements(redis, metrics=Metrics())
    for failed in (False, True):
        grant = await admission.admit(key_hash, "medgemma", 10)
        await settlements.settle(grant, alias="medgemma", prompt=7, completion=3, failed=failed)
    keys = [k.decode() for k in await redis.keys("pc:*usage*")]
    assert len(keys) == 1
    usage = {k.decode(): int(v) for k, v in (await redis.hgetall(keys[0])).items()}
    assert usage == {
        "medgemma:requests": 2,
        "medgemma:prompt_tokens": 14,
        "medgemma:completion_tokens": 6,
        "medgemma:errors": 1,
    }


async def test_the_backlog_goes_out_with_the_next_settlement_that_reaches_the_store(
    redis_server: RedisServer,
) -> None:
    redis = Redis.from_url(redis_server.url, socket_timeout=0.5)
    key_hash, record = await make_key(redis)
    grant = Grant(record.id, key_hash, "t", None, 0, 0, False, False, {}, day=day_number(time.time()))
    settlements = Settlements(redis, metrics=Metrics())
    redis_server.stop()
    await settlements.settle(grant, alias="medgemma", prompt=5, completion=7, failed=False)
    assert settlements.backlog == 1
    redis_server.start()  # back, and no admission has failed or succeeded in between
    await settlements.settle(grant, alias="medgemma", prompt=1, completion=1, failed=False)
    await settlements.drain()
    assert settlements.backlog == 0
    (usage_key,) = await redis.keys(f"pc:{{{key_hash}}}:usage:*")
    usage = await redis.hgetall(usage_key)
    assert (usage[b"medgemma:requests"], usage[b"medgemma:prompt_tokens"]) == (b"2", b"6")


async def test_a_request_settled_after_the_window_counts_in_the_window_it_settles_in(connect: Connect) -> None:
    redis = connect()
    key_hash, _ = await make_key(redis, tpm=10_000)
    admission = Admission(redis, metrics=Metrics())
    settlements = Settlements(redis, metrics=Metrics())
    admitted = await admission.admit(key_hash, "medgemma", 100)
    # As a two-minute stream would be: admitted (and charged its estimate) 120 s ago.
    long_ago = dataclasses.replace(admitted, bucket=admitted.bucket - 120)
    await settlements.settle(long_ago, alias="medgemma", prompt=300, completion=2_000, failed=False)
    after = await admission.admit(key_hash, "medgemma", 1)
    # The window holds: the live 100-token estimate, the 2,300 used, and this request's 1.
    assert int(after.headers["x-ratelimit-remaining-tokens"]) == 10_000 - 100 - 2_300 - 1
    assert all([await redis.ttl(name) > 0 for name in await redis.keys("pc:*:tpm")])


async def test_a_stream_across_midnight_settles_on_the_day_it_was_admitted(connect: Connect) -> None:
    redis = connect()
    key_hash, record = await make_key(redis, daily_tokens=100_000)
    settlements = Settlements(redis, metrics=Metrics())
    today = day_number(time.time())
    yesterday = Grant(record.id, key_hash, "t", None, 5_000, 0, False, True, {}, day=today - 1)
    await redis.set(key_for(key_hash, f"day:{day_name(today - 1)}"), 5_000)  # its up-front charge
    await settlements.settle(yesterday, alias="medgemma", prompt=100, completion=200, failed=False)
    assert int(await redis.get(key_for(key_hash, f"day:{day_name(today - 1)}"))) == 300
    assert await redis.get(key_for(key_hash, f"day:{day_name(today)}")) is None  # today is untouched
    assert await redis.ttl(key_for(key_hash, f"day:{day_name(today - 1)}")) > 0
    # A correction never drives a budget below zero.
    await settlements.settle(yesterday, alias="medgemma", prompt=0, completion=0, failed=True)
    assert int(await redis.get(key_for(key_hash, f"day:{day_name(today - 1)}"))) == 0
    usage = await redis.hgetall(key_for(key_hash, f"usage:{day_name(today - 1)}"))
    assert usage[b"medgemma:requests"] == b"2"


async def test_a_settlement_from_a_clock_ahead_never_blocks_a_future_window(connect: Connect) -> None:
    redis = connect()
    key_hash, _ = await make_key(redis, tpm=1000)
    settlements = Settlements(redis, metrics=Metrics())
    admission = Admission(redis, metrics=Metrics())
    admitted = await admission.admit(key_hash, "medgemma", 0)
    # Served while the store was down, by an instance whose clock ran 10 minutes ahead.
    ahead = dataclasses.replace(admitted, bucket=admitted.bucket + 600, estimate=0)
    await settlements.settle(ahead, alias="medgemma", prompt=500, completion=400, failed=False)
    buckets = {int(k): int(v) for k, v in (await redis.hgetall(key_for(key_hash, "tpm"))).items()}
    assert max(buckets) <= admitted.bucket + 1 and sum(buckets.values()) == 900


async def test_a_settlement_the_store_refuses_is_not_retried_for_ever(connect: Connect) -> None:
    redis = connect()
    key_hash, record = await make_key(redis, tpm=1000)
    await redis.set(key_for(key_hash, "tpm"), "not a hash")  # WRONGTYPE for every settlement
    settlements = Settlements(redis, metrics=Metrics())
    grant = Grant(record.id, key_hash, "t", None, 10, 0, True, False, {}, day=day_number(time.time()))
    await settlements.settle(grant, alias="medgemma", prompt=1, completion=1, failed=False)
    assert settlements.backlog == 0


async def test_a_settlement_refused_while_a_failover_is_under_way_waits_and_is_replayed(
    redis_server: RedisServer,
) -> None:
    """READONLY (the primary was demoted) is a failover's "not now", not a refusal: it waits."""
    redis = Redis.from_url(redis_server.url)
    try:
        key_hash, record = await make_key(redis, tpm=1000)
        settlements = Settlements(redis, metrics=Metrics())
        grant = Grant(record.id, key_hash, "t", None, 10, 0, True, False, {}, day=day_number(time.time()))
        await redis.execute_command("REPLICAOF", "127.0.0.1", "1")  # a replica now (of no one reachable)
        await settlements.settle(grant, alias="medgemma", prompt=1, completion=1, failed=False)
        assert settlements.backlog == 1
        await redis.execute_command("REPLICAOF", "NO", "ONE")  # promoted: the failover ends
        settlements.store_recovered()
        await settlements.drain()
        assert settlements.backlog == 0
        usage = await redis.hgetall(key_for(key_hash, f"usage:{day_name(grant.day)}"))
        assert int(usage[b"medgemma:requests"]) == 1
    finally:
        await redis.aclose()
