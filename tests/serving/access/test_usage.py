"""Usage reports: the day range a query covers, and the rows read back from the store."""

from __future__ import annotations

import time
from datetime import date

import pytest

from serving.access.keys import KeyStore
from serving.access.limits import Grant, day_number
from serving.access.settlement import Settlements
from serving.access.usage import UsageRange, UsageReader
from serving.errors import InvalidRequest
from serving.observability.metrics import Metrics
from tests.support.keys import Connect, make_key

TODAY = date(2026, 11, 29)


def test_range_defaults_and_bounds() -> None:
    assert UsageRange.of(None, None, today=TODAY) == UsageRange(TODAY, TODAY)
    assert UsageRange.of(date(2026, 11, 1), None, today=TODAY) == UsageRange(date(2026, 11, 1), date(2026, 11, 1))
    assert len(UsageRange.of(date(2026, 1, 1), date(2026, 12, 31)).days()) == 365
    with pytest.raises(InvalidRequest) as backwards:
        UsageRange.of(date(2026, 2, 2), date(2026, 2, 1))
    assert backwards.value.param == "end"
    with pytest.raises(InvalidRequest, match="at most 366 days") as too_long:
        UsageRange.of(date(2025, 1, 1), date(2026, 1, 2))
    assert too_long.value.param == "start"


async def test_rows_per_alias_and_day(connect: Connect) -> None:
    redis = connect()
    key_hash, record = await make_key(redis)
    grant = Grant(record.id, key_hash, "t", None, 0, 0, False, False, {}, day=day_number(time.time()))
    settlements = Settlements(redis, metrics=Metrics())
    await settlements.settle(grant, alias="medgemma", prompt=3, completion=4, failed=False)
    await settlements.settle(grant, alias="gpt-5", prompt=1, completion=2, failed=True)
    reader = UsageReader(redis, KeyStore(redis))
    rows = await reader.for_key(record.id, key_hash, UsageRange.of(None, None))
    assert [(r["model"], r["requests"], r["prompt_tokens"], r["completion_tokens"], r["errors"]) for r in rows] == [
        ("gpt-5", 1, 1, 2, 1),
        ("medgemma", 1, 3, 4, 0),
    ]
    assert await reader.for_all(UsageRange.of(None, None)) == rows
    assert await reader.for_key(record.id, key_hash, UsageRange.of(date(2020, 1, 1), None)) == []
