"""Spend: the counters a request's cost is reserved and settled in (a key's and its tenant's, per
day and month), and the spend report (GET /admin/spend, `python -m serving spend`) read from the
usage aggregates settle.lua keeps (their `cost_nanos`, per key, model alias and UTC day)."""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

from serving.access.keys import KeyStore
from serving.access.periods import BudgetPeriods
from serving.access.prices import dollars
from serving.access.usage import UsageRange, UsageReader
from serving.store.connection import key_for, tenant_key


def spend_keys(key_hash: str, tenant: str, periods: BudgetPeriods, *, with_record: bool = False) -> list[str]:
    """The spend counters a request is charged to: the key's this day and month, then its tenant's
    (with its record first when `with_record`). Without a tenant, names in the key's own slot that
    no script touches."""
    own = [key_for(key_hash, f"spend:d:{periods.day}"), key_for(key_hash, f"spend:m:{periods.month}")]
    if tenant:
        theirs = [tenant_key(tenant, f"spend:d:{periods.day}"), tenant_key(tenant, f"spend:m:{periods.month}")]
        return own + ([tenant_key(tenant, "tenant")] if with_record else []) + theirs
    return own + [key_for(key_hash, "no-tenant")] * (3 if with_record else 2)


LEASE_MS = 15 * 60 * 1000  # an in-flight lease outlives any request; a crashed instance's expire


GroupBy = Literal["day", "key", "model"]
_SUMMED = ("requests", "prompt_tokens", "cached_tokens", "completion_tokens", "errors", "cost_nanos")


class SpendReport:
    """What each tenant's (or every) key spent, per day, key or model alias, from the usage
    aggregates: the same counters /v1/usage reports, so the two always agree."""

    def __init__(self, usage: UsageReader, keys: KeyStore) -> None:
        self._usage = usage
        self._keys = keys

    async def rows(self, days: UsageRange, *, group_by: GroupBy, tenant: str | None = None) -> list[dict[str, Any]]:
        records = [record for record in await self._keys.list() if tenant is None or record.tenant == tenant]
        hashes = await self._keys.key_hashes()
        owned = [(record.id, hashes[record.id]) for record in records if record.id in hashes]
        names = {record.id: (record.name, record.tenant) for record in records}
        groups: dict[tuple[str, ...], dict[str, Any]] = {}
        for usage in await self._usage.for_keys(owned, days):
            name, key_tenant = names[usage["key_id"]]
            if group_by == "day":
                label: dict[str, Any] = {"date": usage["date"]}
            elif group_by == "key":
                label = {"key_id": usage["key_id"], "key_name": name, "tenant": key_tenant or None}
            else:
                label = {"model": usage["model"]}
            row = groups.setdefault(tuple(map(str, label.values())), {**label, **dict.fromkeys(_SUMMED, 0)})
            for field in _SUMMED:
                row[field] += usage[field]
        ordered = [groups[label] for label in sorted(groups)]
        for row in ordered:
            row["cost_usd"] = dollars(row["cost_nanos"])
        return ordered


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue()
