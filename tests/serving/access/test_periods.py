"""A budget's day and month: UTC or a tenant's zone, its midnights and first of the month."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from serving.access.periods import Calendar, periods_at


def at(text: str, zone: str = "UTC") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def test_utc_days_and_months() -> None:
    periods = periods_at("UTC", at("2026-12-31T23:59:30"))
    assert (periods.day, periods.month) == ("20261231", "202612")
    assert periods.seconds_left("day", at("2026-12-31T23:59:30")) == 30
    assert periods.month_ends == at("2027-01-01T00:00:00")  # December into January
    assert periods.seconds_left("day", periods.day_ends + 5) == 1  # never less than a second


def test_a_tenants_zone_names_its_own_day_and_month() -> None:
    # 03:00 UTC on 1 March is still 28 February in Chicago (UTC-6)
    periods = periods_at("America/Chicago", at("2026-03-01T03:00:00"))
    assert (periods.day, periods.month) == ("20260228", "202602")
    assert periods.month_ends == at("2026-03-01T00:00:00", "America/Chicago")


def test_a_day_of_daylight_saving_is_23_hours_long() -> None:
    periods = periods_at("America/Chicago", at("2026-03-08T00:30:00", "America/Chicago"))
    assert periods.day_ends - at("2026-03-08T00:00:00", "America/Chicago") == 23 * 3600


def test_the_calendar_reuses_a_day_until_it_ends() -> None:
    calendar = Calendar()
    first = calendar.periods("Asia/Tokyo", at("2026-12-07T10:00:00", "Asia/Tokyo"))
    assert calendar.periods("Asia/Tokyo", at("2026-12-07T23:59:59", "Asia/Tokyo")) is first
    after = calendar.periods("Asia/Tokyo", at("2026-12-08T00:00:00", "Asia/Tokyo"))
    assert after.day == "20261208" and after is not first
    assert datetime.fromtimestamp(after.day_ends, UTC) == datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
