"""The hash chain that makes the audit trail tamper-evident.

Each record carries its sequence number, the hash of the record before it (`prev`) and its
own hash: SHA-256 over the previous hash and the record's canonical JSON (sorted keys,
without `hash`), keyed (HMAC-SHA256) when `audit.chain_key` is set: then even someone who can
write to Redis can't recompute a consistent chain without the key, which lives with the
façade. Editing a record changes its hash; deleting one leaves a gap in the sequence and a
`prev` that names a record that is not there; deleting the newest ones leaves the chain's
head (stored apart, and logged) ahead of the last record."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

GENESIS = "0" * 64


def canonical(record: dict[str, Any]) -> bytes:
    return orjson.dumps({k: v for k, v in record.items() if k != "hash"}, option=orjson.OPT_SORT_KEYS)


def digest(prev: str, record: dict[str, Any], key: bytes | None = None) -> str:
    message = prev.encode() + b"\n" + canonical(record)
    if key:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def anchor_mac(seq: int, hash_: str, removed_at: str, key: bytes | None) -> str:
    """The retention anchor's signature: without the chain key, nobody can move it."""
    if not key:
        return ""
    return hmac.new(key, f"anchor\n{seq}\n{hash_}\n{removed_at}".encode(), hashlib.sha256).hexdigest()


def link(
    records: list[dict[str, Any]], *, seq: int, prev: str, key: bytes | None = None
) -> tuple[list[dict[str, Any]], int, str]:
    """The records chained after (seq, prev); returns them and the new head."""
    linked = []
    for record in records:
        seq += 1
        chained = {**record, "seq": seq, "prev": prev}
        prev = chained["hash"] = digest(prev, chained, key)
        linked.append(chained)
    return linked, seq, prev


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    records: int
    first_seq: int | None
    last_seq: int | None
    head: str
    problem: str | None = None  # where and how the chain breaks
    where: str | None = None  # the stream id (or line number) of the first bad record

    def describe(self) -> str:
        if self.ok:
            if not self.records:
                return "ok: the audit trail is empty"
            return f"ok: {self.records} records, seq {self.first_seq}..{self.last_seq}, chain intact, head {self.head}"
        return f"BROKEN at {self.where}: {self.problem}"


class ChainWalk:
    """Checks records one at a time, in order (a trail may not fit in memory). `anchor` is
    (seq, hash) of the record just before the first (older ones removed by retention)."""

    def __init__(self, anchor: tuple[int, str] = (0, GENESIS), key: bytes | None = None) -> None:
        self.seq, self.prev = anchor
        self._key = key
        self.count = 0
        self.first: int | None = None
        self.broken: Verdict | None = None

    def feed(self, where: str, record: dict[str, Any] | None) -> bool:
        """False once the chain is broken (then `broken` says where)."""
        if self.broken is not None:
            return False
        if record is not None and isinstance(record.get("seq"), int) and record["seq"] <= self.seq and self.count == 0:
            # Retention removes every record up to the anchor in the same step that moves it:
            # one still here means the anchor was moved over it.
            moved = f"seq {record['seq']} is still present at or before the retention anchor (seq {self.seq})"
            self.broken = _broken(self.count, self.first, self.seq, self.prev, where, moved + ": the anchor was moved")
            return False
        problem = self._problem(record)
        if problem is not None:
            self.broken = _broken(self.count, self.first, self.seq, self.prev, where, problem)
            return False
        assert record is not None
        self.first = record["seq"] if self.first is None else self.first
        self.count, self.seq, self.prev = self.count + 1, record["seq"], record["hash"]
        return True

    def _problem(self, record: dict[str, Any] | None) -> str | None:
        if record is None:
            return "the record is not valid JSON (edited)"
        seq = record.get("seq")
        if not isinstance(seq, int):
            return "the record has no sequence number (edited)"
        if seq > self.seq + 1:
            return f"seq {seq} follows seq {self.seq}: records {self.seq + 1}..{seq - 1} missing (deleted)"
        if seq != self.seq + 1:
            return f"seq {seq} follows seq {self.seq}: repeated or reordered"
        if record.get("prev") != self.prev:
            return f"seq {seq} does not link to seq {self.seq}"
        if record.get("hash") != digest(self.prev, record, self._key):
            return f"seq {seq}'s content does not match its hash (edited)"
        return None

    def verdict(self, head: tuple[int, str] | None = None) -> Verdict:
        """`head`: what the store says the newest record is (None for an export)."""
        if self.broken is not None:
            return self.broken
        end = "the end of the trail"
        if head is not None and head[0] > self.seq:
            problem = f"the head is seq {head[0]} but the last record is seq {self.seq}: newest records deleted"
            return _broken(self.count, self.first, self.seq, self.prev, end, problem)
        if head is not None and head[0] < self.seq:
            problem = f"the head is seq {head[0]}, behind the last record (seq {self.seq}): the head was edited"
            return _broken(self.count, self.first, self.seq, self.prev, end, problem)
        if head is not None and head[1] != self.prev:
            return _broken(self.count, self.first, self.seq, self.prev, end, "the head's hash does not match")
        return Verdict(True, self.count, self.first, self.seq if self.count else None, self.prev)


def verify(
    entries: Iterable[tuple[str, dict[str, Any] | None]],
    *,
    anchor: tuple[int, str] = (0, GENESIS),
    head: tuple[int, str] | None = None,
    key: bytes | None = None,
) -> Verdict:
    walk = ChainWalk(anchor, key)
    for where, record in entries:
        if not walk.feed(where, record):
            break
    return walk.verdict(head)


def _broken(count: int, first: int | None, last: int, head: str, where: str, problem: str) -> Verdict:
    return Verdict(False, count, first, last if count else None, head, problem, where)
