"""Usage aggregates per key x model alias x day, read back from the store (settle.lua writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from serving.access.keys import KeyStore
from serving.access.prices import dollars
from serving.errors import InvalidRequest
from serving.store.connection import Store, decode, key_for

MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class UsageRange:
    """The days a usage query covers: start..end inclusive, today by default."""

    start: date
    end: date

    @classmethod
    def of(cls, start: date | None, end: date | None, *, today: date | None = None) -> UsageRange:
        today = today or datetime.now(UTC).date()  # UTC days, as the aggregates are
        first, last = start or today, end or start or today
        if last < first:
            raise InvalidRequest("end is before start.", param="end")
        if (last - first).days >= MAX_DAYS:
            raise InvalidRequest(f"A usage range covers at most {MAX_DAYS} days.", param="start")
        return cls(first, last)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range((self.end - self.start).days + 1)]


class UsageReader:
    def __init__(self, redis: Store, keys: KeyStore) -> None:
        self._redis = redis
        self._keys = keys

    async def for_key(self, key_id: str, key_hash: str, days: UsageRange) -> list[dict[str, Any]]:
        return await self._read([(key_id, key_hash)], days.days())

    async def for_keys(self, keys: list[tuple[str, str]], days: UsageRange) -> list[dict[str, Any]]:
        """(key id, key hash) pairs."""
        return await self._read(keys, days.days())

    async def for_all(self, days: UsageRange) -> list[dict[str, Any]]:
        return await self._read(sorted((await self._keys.key_hashes()).items()), days.days())

    async def _read(self, keys: list[tuple[str, str]], days: list[date]) -> list[dict[str, Any]]:
        """Every key x day aggregate in one round trip (a pipeline)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, key_hash in keys:
                for day in days:
                    pipe.hgetall(key_for(key_hash, f"usage:{day:%Y%m%d}"))
            aggregates = iter(await pipe.execute())
        rows: list[dict[str, Any]] = []
        for key_id, _ in keys:
            for day in days:
                rows.extend(_rows(key_id, day, decode(next(aggregates))))
        return rows


def _rows(key_id: str, day: date, aggregate: dict[str, str]) -> list[dict[str, Any]]:
    by_alias: dict[str, dict[str, Any]] = {}
    for field, value in aggregate.items():
        alias, _, metric = field.rpartition(":")
        row = by_alias.setdefault(
            alias,
            {
                "key_id": key_id,
                "date": day.isoformat(),
                "model": alias,
                "requests": 0,
                "prompt_tokens": 0,
                "cached_tokens": 0,
                "completion_tokens": 0,
                "errors": 0,
                "cost_nanos": 0,
            },
        )
        row[metric] = int(value)
    rows = [by_alias[alias] for alias in sorted(by_alias)]
    for row in rows:
        row["cost_usd"] = dollars(row["cost_nanos"])
    return rows
