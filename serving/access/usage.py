"""Usage aggregates per key x model alias x day, read back from the store (settle.lua writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from redis.asyncio import Redis

from serving.access.keys import KeyStore
from serving.access.store import decode, key_for
from serving.errors import InvalidRequest

MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class UsageRange:
    """The days a usage query covers: start..end inclusive, today by default."""

    start: date
    end: date

    @classmethod
    def of(cls, start: date | None, end: date | None, *, today: date | None = None) -> UsageRange:
        today = today or date.today()
        first, last = start or today, end or start or today
        if last < first:
            raise InvalidRequest("end is before start.", param="end")
        if (last - first).days >= MAX_DAYS:
            raise InvalidRequest(f"A usage range covers at most {MAX_DAYS} days.", param="start")
        return cls(first, last)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range((self.end - self.start).days + 1)]


class UsageReader:
    def __init__(self, redis: Redis, keys: KeyStore) -> None:
        self._redis = redis
        self._keys = keys

    async def for_key(self, key_id: str, key_hash: str, days: UsageRange) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for day in days.days():
            raw = decode(await self._redis.hgetall(key_for(key_hash, f"usage:{day:%Y%m%d}")))
            by_alias: dict[str, dict[str, Any]] = {}
            for field, value in raw.items():
                alias, _, metric = field.rpartition(":")
                row = by_alias.setdefault(
                    alias,
                    {
                        "key_id": key_id,
                        "date": day.isoformat(),
                        "model": alias,
                        "requests": 0,
                        "prompt_tokens": 0,
                        "completion_tokens": 0,
                        "errors": 0,
                    },
                )
                row[metric] = int(value)
            rows.extend(by_alias[alias] for alias in sorted(by_alias))
        return rows

    async def for_all(self, days: UsageRange) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for key_id, key_hash in sorted((await self._keys.key_hashes()).items()):
            rows.extend(await self.for_key(key_id, key_hash, days))
        return rows
