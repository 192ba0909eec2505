"""The audit trail in the store: a Redis Stream of chained records, its head and its anchor.

Why a Redis Stream (not PostgreSQL): every instance already shares this Redis for keys and
limits, with AOF persistence (appendfsync everysec) in the shipped Compose and Kubernetes
files; XADD is append-only and O(1); stream ids are the store's millisecond clock, so a time
range is a native XRANGE and the id is a stable cursor. The chain needs one writer at a time:
a batch is appended under WATCH on the head, in one MULTI with the head's update, so
instances interleave whole batches and never fork the chain. Long retention belongs in cold
storage: `python -m serving audit export` writes JSON Lines that `audit verify --file`
checks, and `audit.retention_days` trims the stream (the anchor keeps the chain verifiable
from the first record kept).

All keys share the {audit} hash tag: one slot, so the MULTI is cluster-safe."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import orjson
from redis.exceptions import WatchError

from serving.audit.chain import GENESIS, anchor_mac, link
from serving.store.connection import LuaScript, Store, decode

STREAM = "pc:{audit}:log"
HEAD = "pc:{audit}:head"  # seq and hash of the newest record
ANCHOR = "pc:{audit}:anchor"  # seq, hash and time of the newest record removed by retention, signed


class ChainContended(Exception):
    """Other instances kept moving the head: the batch waits for the next flush."""


# Move the anchor forward (never back) and trim exactly, in one step: instances trimming at
# the same time can't leave the anchor behind records already removed.
_TRIM = LuaScript(
    """
local current = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if tonumber(ARGV[1]) > current then
  redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'hash', ARGV[2], 'ts', ARGV[4], 'mac', ARGV[5])
end
return redis.call('XTRIM', KEYS[2], 'MINID', '=', ARGV[3])
"""
)


class AuditTrail:
    def __init__(self, redis: Store, *, key: str | None = None) -> None:
        self._redis = redis
        self.key = key.encode() if key else None

    async def ping(self) -> None:
        await self._redis.ping()

    async def append(self, records: list[dict[str, Any]], *, attempts: int = 20) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for attempt in range(attempts):
                try:
                    await pipe.watch(HEAD)
                    seq, prev = _pair(await pipe.hgetall(HEAD))
                    linked, seq, prev = link(records, seq=seq, prev=prev, key=self.key)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    for record in linked:
                        pipe.xadd(STREAM, {"r": orjson.dumps(record)})
                    pipe.hset(HEAD, mapping={"seq": seq, "hash": prev})
                    await pipe.execute()
                    return
                except WatchError:  # another instance appended first: back off a little, at random,
                    # so two writers in step do not keep colliding (and one of them starve)
                    if attempt + 1 < attempts:
                        await asyncio.sleep(random.random() * 0.001 * (attempt + 1))
        raise ChainContended

    async def head(self) -> tuple[int, str]:
        return _pair(await self._redis.hgetall(HEAD))

    async def anchor(self) -> tuple[int, str]:
        return _pair(await self._redis.hgetall(ANCHOR))

    async def anchor_details(self) -> dict[str, str]:
        """The anchor as stored: seq, hash, ts (the removed record's time) and mac."""
        return decode(await self._redis.hgetall(ANCHOR))

    async def entries(
        self, start: str = "-", end: str = "+", *, page: int = 1000
    ) -> AsyncIterator[tuple[str, dict[str, Any] | None]]:
        """(stream id, record) from start to end inclusive; a record that doesn't parse is None."""
        while True:
            batch = await self._redis.xrange(STREAM, start, end, count=page) or []
            for entry_id, fields in batch:
                ident = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                yield ident, _parse(fields)
            if len(batch) < page:
                return
            last = batch[-1][0]
            start = "(" + (last.decode() if isinstance(last, bytes) else str(last))

    async def trim_before(self, cutoff_ms: int) -> int:
        """Remove records written before cutoff_ms, anchoring the chain at the last one removed."""
        last: dict[str, Any] | None = None
        async for _, record in self.entries("-", f"({cutoff_ms}-0", page=1000):
            if record is not None:
                last = record
        if last is None:
            return 0
        removed_at = str(last.get("ts", ""))
        mac = anchor_mac(last["seq"], last["hash"], removed_at, self.key)
        removed = await _TRIM.run(
            self._redis, [ANCHOR, STREAM], [last["seq"], last["hash"], f"{cutoff_ms}-0", removed_at, mac]
        )
        return int(removed)


def _pair(raw: dict[Any, Any]) -> tuple[int, str]:
    if not raw:
        return 0, GENESIS
    values = decode(raw)
    return int(values.get("seq", 0)), str(values.get("hash", GENESIS))


def _parse(fields: dict[Any, Any] | None) -> dict[str, Any] | None:
    if not fields:
        return None
    raw = fields.get(b"r", fields.get("r"))
    if raw is None:
        return None
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None
