"""Usage aggregates per key x model alias x day, read back from the store (settle.lua writes them)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from redis.asyncio import Redis

from serving.keys import KeyStore, decode

MAX_DAYS = 366


def days_between(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError("end is before start")
    if (end - start).days >= MAX_DAYS:
        raise ValueError(f"a range covers at most {MAX_DAYS} days")
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


class UsageReader:
    def __init__(self, redis: Redis, keys: KeyStore) -> None:
        self._redis = redis
        self._keys = keys

    async def for_key(self, key_id: str, key_hash: str, start: date, end: date) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for day in days_between(start, end):
            raw = decode(await self._redis.hgetall(f"pc:{{{key_hash}}}:usage:{day:%Y%m%d}"))
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

    async def for_all(self, start: date, end: date) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for key_id, key_hash in sorted((await self._keys.key_hashes()).items()):
            rows.extend(await self.for_key(key_id, key_hash, start, end))
        return rows
