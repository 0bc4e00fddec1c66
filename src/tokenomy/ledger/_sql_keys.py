"""Grouping names in SQL: the key a grouping (``model``, a tag, ``hour``, ``day``, ``month``,
``run``) is grouped by over the records or over the monthly rollup, and how a result row's key
reads back as the group's label (``ledger/_sql_report.py``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

__all__ = [
    "ROLLUP_NAMES",
    "Conv",
    "column",
    "rollup_key",
    "sql_key",
    "tag_alias",
    "tag_name",
    "tag_of",
    "time_of",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(1970, 1, 1)
_HOUR_US = 3_600_000_000
_DAY_US = 86_400_000_000

Conv = Callable[[Sequence[Any]], "str | None"]


def column(i: int) -> Conv:
    def get(row: Sequence[Any]) -> str | None:
        return None if row[i] is None else str(row[i])

    return get


def tag_of(i: int, values: dict[int, str]) -> Conv:
    def get(row: Sequence[Any]) -> str | None:
        return values.get(int(row[i]))

    return get


def time_of(i: int, name: str) -> Conv:
    def get(row: Sequence[Any]) -> str | None:
        n = int(row[i])
        if name == "hour":
            return (_EPOCH + timedelta(hours=n)).strftime("%Y-%m-%dT%H")
        day = _EPOCH_DAY + timedelta(days=n)
        return day.isoformat() if name == "day" else day.strftime("%Y-%m")

    return get


def tag_alias(names: Sequence[str], name: str) -> int:
    """The join alias number of tag ``name`` in :meth:`SqlAggregator._grouped` (one per tag name)."""
    return [n for n in names if tag_name(n) is not None].index(name)


def _floor_div(expr: str, unit: int) -> str:
    return f"(CASE WHEN {expr} >= 0 THEN {expr} / {unit} ELSE ({expr} + 1) / {unit} - 1 END)"


def sql_key(name: str) -> str:
    """The SQL expression a grouping ``name`` groups the records by (a tag: the tag set)."""
    if name in ("model", "provider", "kind"):
        return name
    if name == "run":
        return "run_key"
    if name == "hour":
        return _floor_div("ts_us", _HOUR_US)
    if name in ("day", "month"):
        return _floor_div("ts_us", _DAY_US)
    return "tagset"


def rollup_key(name: str) -> str:
    """:func:`sql_key` over the rollup (``ledger/_rollup.py``): a month is its first day."""
    if name == "month":
        return _floor_div("month_us", _DAY_US)
    return sql_key(name)


# what the rollup can answer: groupings in its key, filters on its key columns
ROLLUP_NAMES = ("model", "provider", "kind", "month")


def tag_name(name: str) -> str | None:
    """The tag a grouping ``name`` is (``tag:`` prefix optional), ``None`` for a built-in one."""
    if name in ("model", "provider", "kind", "run", "hour", "day", "month"):
        return None
    return name[4:] if name.startswith("tag:") else name
