"""Settlement against a real redis-server: usage aggregates, failures counted."""

from __future__ import annotations

from serving.access.admission import Admission
from serving.access.settlement import Settlements
from serving.observability.metrics import Metrics
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
