"""The audit trail in the store: a Redis Stream of chained records, its head and its anchor.

Why a Redis Stream (not PostgreSQL): every instance already shares this Redis for keys and
limits, with AOF persistence (appendfsync everysec) in the shipped Compose and Kubernetes
files; XADD is append-only and O(1); stream ids are the store's millisecond clock, so a time
range is a native XRANGE and the id is a stable cursor. The chain needs one writer at a time:
a batch is linked to the head as read, then appended with the head's update by one script that
first checks the head has not moved (else the batch is linked again), so instances interleave
whole batches and never fork the chain. (A script rather than WATCH/MULTI: one round trip, and
redis-py's cluster client runs each command of a transaction in a thread of its own, blocking
the event loop: a fifth of the façade's CPU under load on a cluster.) Long retention belongs in cold
storage: `python -m serving audit export` writes JSON Lines that `audit verify --file`
checks, and `audit.retention_days` trims the stream (the anchor keeps the chain verifiable
from the first record kept).

All keys share the {audit} hash tag: one slot, so the scripts are cluster-safe."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import orjson

from serving.audit.chain import GENESIS, anchor_mac, link
from serving.store.connection import LuaScript, Store, decode

STREAM = "pc:{audit}:log"
HEAD = "pc:{audit}:head"  # seq and hash of the newest record
ANCHOR = "pc:{audit}:anchor"  # seq, hash and time of the newest record removed by retention, signed


class ChainContended(Exception):
    """Other instances kept moving the head: the batch waits for the next flush."""


# Append a linked batch if the head is still where the batch was linked from (its seq and hash
# as read, empty when there is none yet); 0 when it moved.
_APPEND = LuaScript(
    """
local head = redis.call('HMGET', KEYS[1], 'seq', 'hash')
if (head[1] or '') ~= ARGV[1] or (head[2] or '') ~= ARGV[2] then return 0 end
for i = 5, #ARGV do redis.call('XADD', KEYS[2], '*', 'r', ARGV[i]) end
redis.call('HSET', KEYS[1], 'seq', ARGV[3], 'hash', ARGV[4])
return 1
"""
)

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
        for attempt in range(attempts):
            raw = decode(await self._redis.hgetall(HEAD))
            seq, prev = _pair(raw)
            linked, new_seq, new_prev = link(records, seq=seq, prev=prev, key=self.key)
            expected = [raw.get("seq", ""), raw.get("hash", "")]
            lines = [orjson.dumps(record).decode() for record in linked]
            if await _APPEND.run(self._redis, [HEAD, STREAM], [*expected, new_seq, new_prev, *lines]):
                return
            # Another instance appended first: back off a little, at random, so two writers in
            # step do not keep colliding (and one of them starve).
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
