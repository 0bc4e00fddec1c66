"""Budget windows: calendar periods in a time zone (month ends, DST), rolling buckets, and
per-request / per-run keys."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tokenomy import ConfigurationError
from tokenomy.budget._window import parse_window


def ts(*args: int, tz: str = "UTC") -> float:
    return datetime(*args, tzinfo=ZoneInfo(tz)).timestamp()  # type: ignore[misc]


def test_day_in_a_time_zone() -> None:
    """A day window in Europe/Paris resets at local midnight, not UTC midnight."""
    w = parse_window("day", "Europe/Paris")
    b = w.buckets(ts(2026, 12, 2, 23, 30, tz="UTC"))  # 00:30 on the 3rd in Paris
    assert b.keys == ("day:2026-12-03T00",)
    assert b.resets_at == datetime(2026, 12, 4, tzinfo=ZoneInfo("Europe/Paris"))


def test_month_and_week_boundaries() -> None:
    """A month window resets on the 1st of the next month (December → January); a week on
    Monday."""
    month = parse_window("month").buckets(ts(2026, 12, 31, 23, 59))
    assert month.keys == ("month:2026-12-01T00",) and month.resets_at == datetime(2027, 1, 1, tzinfo=UTC)
    week = parse_window("week").buckets(ts(2026, 12, 2, 12))  # a Wednesday
    assert week.keys == ("week:2026-11-30T00",) and week.resets_at == datetime(2026, 12, 7, tzinfo=UTC)


def test_hour_across_a_dst_change() -> None:
    """The hour window on the night clocks go back in New York still lasts one hour."""
    w = parse_window("hour", "America/New_York")
    at = ts(2026, 11, 1, 5, 30)  # 01:30 EDT, the first of two 01:30s
    b = w.buckets(at)
    assert b.resets_at is not None and b.resets_at.timestamp() - at == 1800


def test_rolling_buckets_cover_the_last_n_minutes() -> None:
    """rolling:90m: 2-minute buckets, 46 of them (90 minutes plus the current part bucket)."""
    w = parse_window("rolling:90m")
    now = ts(2026, 12, 2, 12, 0) + 30
    b = w.buckets(now)
    assert len(b.keys) == 46 and len(set(b.keys)) == 46
    later = w.buckets(now + 120)
    assert later.keys[1:] == b.keys[:-1]  # one bucket on: the oldest left the window
    assert b.resets_at is not None and 0 < b.resets_at.timestamp() - now <= 120


def test_request_and_run_windows_need_an_id() -> None:
    """Per-request / per-run buckets are named by the call's id and do not reset by clock."""
    w = parse_window("run")
    b = w.buckets(0.0, key="root-1")
    assert b.keys == ("run:root-1",) and b.resets_at is None
    with pytest.raises(ConfigurationError):
        w.buckets(0.0)
