"""Budget windows: which period a call's spend counts in, and when that period resets.

``"request"`` (every call on its own), ``"run"`` (every call of one root run: a chain, an
agent, a ``track()`` block), the calendar windows ``"hour"``, ``"day"``, ``"week"`` (from
Monday), ``"month"`` (in a stated time zone, default UTC), and rolling windows of N minutes
(``"rolling:30m"``, ``"rolling:6h"`` or a :class:`~datetime.timedelta`).

A window gives each moment its *buckets*: the store keys its spend is counted under. A
calendar window has one bucket per period. A rolling window of N minutes is kept in buckets
of ``ceil(N / 60)`` minutes; a call counts the spend of every bucket that overlaps the last N
minutes, so it sees at least N minutes (at most one bucket more: stricter, never looser).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final

from tokenomy.exceptions import ConfigurationError

__all__ = ["CALENDAR_WINDOWS", "Buckets", "Window", "parse_window"]

#: Windows that reset on the clock.
CALENDAR_WINDOWS: Final = ("hour", "day", "week", "month")
_NAMED: Final = ("request", "run", *CALENDAR_WINDOWS)
_ALIASES: Final = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month"}
_ROLLING = re.compile(r"^rolling[:\s]*(\d+)\s*(m|min|minutes?|h|hours?)$")
#: A run's counters are kept this long after its last call (seconds).
RUN_TTL: Final = 24 * 3600
#: A window's counters outlive its reset by this long, so ``budget status`` can still show it.
GRACE: Final = 3600
#: The longest rolling window (one year).
MAX_ROLLING_MINUTES: Final = 366 * 24 * 60


@dataclass(frozen=True, slots=True)
class Buckets:
    """Where one call's spend counts: ``keys`` (the current bucket first), when the window
    resets (``None``: it does not reset by the clock), and when the store may forget the
    current bucket (unix seconds)."""

    keys: tuple[str, ...]
    resets_at: datetime | None
    expire_at: float


@dataclass(frozen=True, slots=True)
class Window:
    """A parsed window (see the module docstring). ``minutes`` is set for rolling windows."""

    kind: str
    tz: tzinfo = UTC
    minutes: int = 0

    @property
    def label(self) -> str:
        """How the window is written: ``"day"``, ``"rolling:90m"``..."""
        return f"rolling:{self.minutes}m" if self.kind == "rolling" else self.kind

    @property
    def by_clock(self) -> bool:
        """Whether spend is counted by time (calendar and rolling windows)."""
        return self.kind not in ("request", "run")

    def buckets(self, now: float, *, key: str | None = None) -> Buckets:
        """The buckets at unix time ``now``; ``key`` names the request or run for those
        windows."""
        if self.kind in ("request", "run"):
            if not key:
                raise ConfigurationError(f"a {self.kind!r} window needs the call's {self.kind} id")
            ttl = RUN_TTL if self.kind == "run" else GRACE
            return Buckets((f"{self.kind}:{key}",), None, now + ttl)
        if self.kind == "rolling":
            return self._rolling(now)
        start, end = self._period(now)
        return Buckets(
            (f"{self.kind}:{start.strftime('%Y-%m-%dT%H')}",), end, end.timestamp() + GRACE
        )

    def _period(self, now: float) -> tuple[datetime, datetime]:
        local = datetime.fromtimestamp(now, self.tz)
        if self.kind == "hour":
            start = local.replace(minute=0, second=0, microsecond=0)
            # the next hour on the wall clock, computed in UTC so a DST change is one hour
            end = (start.astimezone(UTC) + timedelta(hours=1)).astimezone(self.tz)
            return start, end
        day = local.date()
        if self.kind == "week":
            day = day - timedelta(days=day.weekday())
            nxt = day + timedelta(days=7)
        elif self.kind == "month":
            day = day.replace(day=1)
            nxt = (day + timedelta(days=32)).replace(day=1)
        else:
            nxt = day + timedelta(days=1)
        start = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.tz)
        return start, end

    def _rolling(self, now: float) -> Buckets:
        size = max(1, math.ceil(self.minutes / 60)) * 60  # seconds per bucket
        index = int(now // size)
        count = math.ceil(self.minutes * 60 / size) + 1
        keys = tuple(f"rolling:{size}:{index - k}" for k in range(count))
        next_start = datetime.fromtimestamp((index + 1) * size, self.tz)
        return Buckets(keys, next_start, (index + 1) * size + self.minutes * 60 + GRACE)


def parse_window(spec: object, tz: object = None) -> Window:
    """A :class:`Window` from what users write (``"day"``, ``"rolling:30m"``, a
    ``timedelta``); ``tz`` is a time zone name (``"Europe/Paris"``) or a ``tzinfo``."""
    zone = _zone(tz)
    if isinstance(spec, timedelta):
        minutes = spec.total_seconds() / 60
        if minutes != int(minutes) or not 1 <= minutes <= MAX_ROLLING_MINUTES:
            raise ConfigurationError(
                f"a rolling budget window must be a whole number of minutes from 1 to "
                f"{MAX_ROLLING_MINUTES}, got {spec!r}"
            )
        return Window("rolling", zone, int(minutes))
    if not isinstance(spec, str):
        raise ConfigurationError(
            f"budget window must be one of {', '.join(_NAMED)} or 'rolling:<N>m', "
            f"got {spec!r}"
        )
    text = spec.strip().lower()
    text = _ALIASES.get(text, text)
    if text in _NAMED:
        return Window(text, zone)
    match = _ROLLING.match(text)
    if match:
        n = int(match.group(1)) * (60 if match.group(2).startswith("h") else 1)
        if not 1 <= n <= MAX_ROLLING_MINUTES:
            raise ConfigurationError(
                f"a rolling budget window must be 1 to {MAX_ROLLING_MINUTES} minutes, got {spec!r}"
            )
        return Window("rolling", zone, n)
    raise ConfigurationError(
        f"unknown budget window {spec!r}: use one of {', '.join(_NAMED)}, 'rolling:<N>m' / "
        "'rolling:<N>h', or a datetime.timedelta"
    )


def _zone(tz: object) -> tzinfo:
    if tz is None:
        return UTC
    if isinstance(tz, tzinfo):
        return tz
    if isinstance(tz, str):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigurationError(
                f"unknown time zone {tz!r} for a budget window: use an IANA name such as "
                "'UTC' or 'Europe/Paris'"
            ) from exc
    raise ConfigurationError(f"budget tz must be a time zone name or tzinfo, got {tz!r}")
