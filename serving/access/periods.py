"""The day and the month a budget counts in: UTC, or a tenant's time zone (its midnight, its first
of the month, daylight saving included). Named by the façade's clock: instances whose clocks
disagree by a few milliseconds may put a request at midnight in either day, never count it twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class BudgetPeriods:
    time_zone: str
    day: str  # YYYYMMDD in the zone
    month: str  # YYYYMM in the zone
    day_ends: float  # unix seconds of the next local midnight
    month_ends: float  # unix seconds of the next first of the month, local midnight

    def seconds_left(self, period: str, now: float) -> int:
        """Whole seconds until the period ends (at least 1): a refused budget's Retry-After."""
        ends = self.day_ends if period == "day" else self.month_ends
        return max(1, int(-(-(ends - now) // 1)))


class Calendar:
    """Each zone's current periods, worked out once a day rather than per request."""

    def __init__(self) -> None:
        self._current: dict[str, BudgetPeriods] = {}

    def periods(self, time_zone: str, now: float) -> BudgetPeriods:
        known = self._current.get(time_zone)
        if known is not None and now < known.day_ends and now >= known.day_ends - 90_000:
            return known  # (90,000 s: a day is never longer, daylight saving included)
        known = self._current[time_zone] = periods_at(time_zone, now)
        return known


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def periods_at(time_zone: str, now: float) -> BudgetPeriods:
    zone = _zone(time_zone)
    today = datetime.fromtimestamp(now, zone).date()
    tomorrow = today + timedelta(days=1)
    next_month = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    return BudgetPeriods(
        time_zone,
        f"{today:%Y%m%d}",
        f"{today:%Y%m}",
        datetime.combine(tomorrow, time(), zone).timestamp(),
        datetime.combine(next_month, time(), zone).timestamp(),
    )
