"""Settlement against a real redis-server: usage aggregates, failures counted."""

from __future__ import annotations

from redis.asyncio import Redis

from serving.access.admission import Admission
from serving.access.limits import Grant
from serving.access.settlement import Settlements
from serving.observability.metrics import Metrics
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
    grant = Grant(record.id, key_hash, "t", None, 0, 0, False, False, {})
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
