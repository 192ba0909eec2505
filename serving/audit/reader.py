"""Reading the audit trail: filtered, cursor-paginated pages (GET /admin/audit) and contiguous
time ranges (export). Times are the store's write times (the stream ids), within a flush
interval of each request's end; a record replayed from the spool carries its own `ts`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from serving.audit.trail import AuditTrail

SCAN_LIMIT = 10_000  # records examined for one page, matching or not


@dataclass(frozen=True, slots=True)
class AuditQuery:
    key_id: str | None = None
    backend: str | None = None
    outcome: str | None = None
    phi: bool | None = None  # identifiers detected (True) or not (False)
    kind: str | None = None  # request or admin
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, record: dict[str, Any]) -> bool:
        return (
            (self.key_id is None or record.get("key_id") == self.key_id)
            and (self.backend is None or record.get("backend") == self.backend)
            and (self.outcome is None or record.get("outcome") == self.outcome)
            and (self.kind is None or record.get("kind") == self.kind)
            and (self.phi is None or bool(record.get("phi")) == self.phi)
        )

    def bounds(self) -> tuple[str, str]:
        """Stream ids: milliseconds since the epoch (UTC when the time names no zone)."""
        start = "-" if self.since is None else str(_epoch_ms(self.since))
        end = "+" if self.until is None else str(_epoch_ms(self.until))
        return start, end


def _epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int(moment.timestamp() * 1000))


@dataclass(frozen=True, slots=True)
class AuditPage:
    records: list[dict[str, Any]]
    next_cursor: str | None  # pass as `after` for the next page; None at the end


async def page(trail: AuditTrail, query: AuditQuery, *, after: str | None, limit: int) -> AuditPage:
    start, end = query.bounds()
    if after is not None:
        start = "(" + after
    found: list[dict[str, Any]] = []
    scanned, last = 0, None
    async for entry_id, record in trail.entries(start, end, page=min(1000, max(limit * 4, 100))):
        scanned += 1
        last = entry_id
        if record is not None and query.matches(record):
            found.append(record)
            if len(found) == limit:
                break
        if scanned >= SCAN_LIMIT:
            break
    else:
        return AuditPage(found, None)  # the range is exhausted
    return AuditPage(found, last)


async def export(trail: AuditTrail, query: AuditQuery) -> AsyncIterator[dict[str, Any] | None]:
    start, end = query.bounds()
    async for _, record in trail.entries(start, end):
        yield record
