"""Totals of a group of records (:class:`GroupTotals`), computed by one pure function.

Every store aggregates through :func:`aggregate_records`, so an in-memory ledger, a SQLite file
and a PostgreSQL table give identical totals for the same records.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import ConfigurationError
from tokenomy.ledger._billed import billed_mismatch
from tokenomy.ledger._filter import epoch_us, is_estimated, utc
from tokenomy.pricing._model import COST_DIMENSIONS
from tokenomy.usage._model import Usage

if TYPE_CHECKING:
    from tokenomy.ledger._record import CostRecord
    from tokenomy.ledger._stored import StoredCall
    from tokenomy.ledger._view import RecordView

__all__ = [
    "GROUP_DIMENSIONS",
    "GroupTotals",
    "aggregate_records",
    "aggregate_stored",
    "check_by",
    "decimal_text",
    "histogram_percentile",
    "percentile",
]

#: Built-in names for ``aggregate(by=...)``; any other name is a tag key (``"tag:<key>"`` forces
#: a tag whose key is one of these names). ``hour`` (``YYYY-MM-DDTHH``), ``day``
#: (``YYYY-MM-DD``) and ``month`` (``YYYY-MM``) are UTC; ``run`` is the root run (the record's
#: ``root_run_id``, else its ``run_id``, else its ``record_id``).
GROUP_DIMENSIONS: tuple[str, ...] = ("model", "provider", "kind", "hour", "day", "month", "run")

_ZERO = Decimal(0)
_EMPTY_USAGE = Usage()


def _key_getter(name: str) -> Callable[[CostRecord | RecordView], str | None]:
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"aggregate(by=...) names must be non-empty strings, got {name!r}")
    if name == "model":
        return lambda r: r.model
    if name == "provider":
        return lambda r: r.provider
    if name == "kind":
        return lambda r: r.kind
    if name == "hour":
        return lambda r: utc(r.timestamp).strftime("%Y-%m-%dT%H")
    if name == "day":
        return lambda r: utc(r.timestamp).date().isoformat()
    if name == "month":
        return lambda r: utc(r.timestamp).strftime("%Y-%m")
    if name == "run":
        return lambda r: r.root_run_id or r.run_id or r.record_id
    tag = name[4:] if name.startswith("tag:") else name
    if not tag:
        raise ConfigurationError("aggregate(by=['tag:']) needs a tag key after 'tag:'")
    return lambda r: r.tags.get(tag)


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least ``p`` % of values <= it.

    Always one of the observed values (no interpolation), so every store agrees exactly;
    ``None`` for an empty sequence. ``sorted_values`` must be sorted ascending.
    """
    n = len(sorted_values)
    if n == 0:
        return None
    if not 0 < p <= 100:
        raise ConfigurationError(f"percentile p must be in (0, 100], got {p}")
    rank = max(1, math.ceil(p / 100 * n))
    return sorted_values[rank - 1]


def decimal_text(value: Decimal) -> str:
    """An exact amount as plain decimal text, the one way every output writes money: no
    exponent, no trailing zeros (``0.0000012``, never ``1.20E-6`` or ``0.00000120``)."""
    if not value:
        return "0"
    text = format(value.normalize(), "f")
    return text


def histogram_percentile(
    buckets: Sequence[tuple[float, int]], total: int, p: float
) -> float | None:
    """Nearest-rank percentile over ``(value, count)`` buckets sorted by value."""
    if total == 0:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    seen = 0
    for value, n in buckets:
        seen += n
        if seen >= rank:
            return value
    return buckets[-1][0]  # pragma: no cover - counts add up to total


def check_by(by: Sequence[str] | str) -> tuple[str, ...]:
    """The ``by`` names as a tuple, each checked (ConfigurationError for a bad one)."""
    names = (by,) if isinstance(by, str) else tuple(by)
    for name in names:
        _key_getter(name)
    return names


@dataclass(frozen=True, slots=True)
class GroupTotals:
    """What one group of records used and cost.

    ``cost`` sums the priced records only (``unpriced`` counts the others, never treated as
    $0); ``saved`` sums what cache hits avoided spending. Latency percentiles are nearest-rank
    (see :func:`percentile`) over the records that have a latency, in milliseconds; when
    ``latency_approximate`` is true (the SQL stores), each is within 1% of the exact value
    (read from a histogram of 2%-wide buckets instead of every latency).
    ``first``/``last`` are the earliest and latest timestamps, in UTC. ``truncated`` counts the
    responses cut by their output-token limit (:attr:`truncation_rate` is their share).

    ``cost`` is the price book's; where the provider reported what it billed (OpenRouter's
    ``usage.cost``), :attr:`charged` counts the bill instead (what reports show as the cost):
    ``billed`` calls had a bill summing to ``billed_usd``, against a price-book cost of
    ``billed_cost`` (over the ``billed - billed_unpriced`` of them the book priced), and
    ``billed_mismatch`` of them differ from the book by more than ``BILLED_TOLERANCE``.
    """

    key: dict[str, str | None]
    count: int = 0
    cost: Decimal = _ZERO
    cost_by_dimension: dict[str, Decimal] = field(default_factory=dict)
    unpriced: int = 0
    estimated: int = 0
    usage: Usage = _EMPTY_USAGE
    cache_hits: int = 0
    saved: Decimal = _ZERO
    truncated: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    first: datetime | None = None
    last: datetime | None = None
    latency_approximate: bool = False
    billed: int = 0
    billed_usd: Decimal = _ZERO
    billed_cost: Decimal = _ZERO
    billed_unpriced: int = 0
    billed_mismatch: int = 0

    @property
    def charged(self) -> Decimal:
        """What the calls cost as charged: the provider's bill where it reported one, else the
        price book's cost (the exact sum of ``CostRecord.charged_usd``)."""
        if not self.billed:
            return self.cost
        return self.cost - self.billed_cost + self.billed_usd

    @property
    def uncharged(self) -> int:
        """Calls with neither a price nor a bill: :attr:`charged` leaves them out."""
        return self.unpriced - self.billed_unpriced

    @property
    def truncation_rate(self) -> float | None:
        """The share of calls cut by their output-token limit (``None`` with no calls)."""
        return self.truncated / self.count if self.count else None

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready dict: Decimals as plain decimal strings (see :func:`decimal_text`),
        timestamps as ISO 8601. ``cost`` is what was charged (:attr:`charged`: the provider's
        bill where there is one), ``null`` when no call of the group has a price or a bill (its
        cost is unknown, not $0); ``price_book_cost`` is the price book's (``null`` when every
        call is unpriced), which ``cost_by_dimension`` breaks down."""
        unknown = self.count > 0 and self.unpriced == self.count
        return {
            "key": dict(self.key),
            "count": self.count,
            "cost": (
                None
                if self.count > 0 and self.uncharged == self.count
                else decimal_text(self.charged)
            ),
            "price_book_cost": None if unknown else decimal_text(self.cost),
            "billed": self.billed,
            "billed_usd": decimal_text(self.billed_usd),
            "billed_mismatch": self.billed_mismatch,
            "uncharged": self.uncharged,
            "cost_by_dimension": {k: decimal_text(v) for k, v in self.cost_by_dimension.items()},
            "unpriced": self.unpriced,
            "estimated": self.estimated,
            "usage": self.usage.counts(),
            "cache_hits": self.cache_hits,
            "saved": decimal_text(self.saved),
            "truncated": self.truncated,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p95_ms": self.latency_p95_ms,
            "latency_p99_ms": self.latency_p99_ms,
            "latency_approximate": self.latency_approximate,
            "first": None if self.first is None else self.first.isoformat(),
            "last": None if self.last is None else self.last.isoformat(),
        }


class _Acc:
    __slots__ = (
        "billed",
        "billed_cost",
        "billed_mismatch",
        "billed_unpriced",
        "billed_usd",
        "cache_hits",
        "cost",
        "count",
        "estimated",
        "first",
        "first_us",
        "last",
        "last_us",
        "latencies",
        "parts",
        "saved",
        "tokens",
        "truncated",
        "unpriced",
        "usage_estimated",
    )

    def __init__(self) -> None:
        self.count = 0
        self.cost = _ZERO
        self.parts: dict[str, Decimal] = {}
        self.unpriced = 0
        self.estimated = 0
        self.tokens = [0, 0, 0, 0, 0, 0]
        self.usage_estimated = False
        self.cache_hits = 0
        self.saved = _ZERO
        self.truncated = 0
        self.latencies: list[float] = []
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.first_us = 0
        self.last_us = 0
        self.billed = 0
        self.billed_usd = _ZERO
        self.billed_cost = _ZERO
        self.billed_unpriced = 0
        self.billed_mismatch = 0

    def add_bill(self, billed: Decimal, cost: Decimal | None) -> None:
        """Count a call the provider billed ``billed`` (price-book ``cost``)."""
        self.billed += 1
        self.billed_usd += billed
        if cost is None:
            self.billed_unpriced += 1
        else:
            self.billed_cost += cost
        if billed_mismatch(billed, cost):
            self.billed_mismatch += 1

    def add(self, r: CostRecord | RecordView) -> None:
        self.count += 1
        cost = r.cost
        if cost is None:
            self.unpriced += 1
        else:
            self.cost += cost.total
            parts = self.parts
            for k, v in cost.parts.items():
                parts[k] = parts.get(k, _ZERO) + v
        if is_estimated(r):
            self.estimated += 1
        u = r.usage
        t = self.tokens
        t[0] += u.input
        t[1] += u.output
        t[2] += u.cache_read
        t[3] += u.cache_write_5m
        t[4] += u.cache_write_1h
        t[5] += u.reasoning
        self.usage_estimated = self.usage_estimated or u.estimated
        cache = r.cache
        if cache.outcome != "miss":
            self.cache_hits += 1
        if cache.saved is not None:
            self.saved += cache.saved
        if r.truncated:
            self.truncated += 1
        if r.latency_ms is not None:
            self.latencies.append(r.latency_ms)
        ts = epoch_us(r.timestamp)
        if self.first is None or ts < self.first_us:
            self.first, self.first_us = r.timestamp, ts
        if self.last is None or ts > self.last_us:
            self.last, self.last_us = r.timestamp, ts
        if r.billed_usd is not None:
            self.add_bill(r.billed_usd, None if cost is None else cost.total)

    def add_stored(self, s: StoredCall) -> None:
        """:meth:`add` for a stored call, read as it is (no :class:`CostRecord` built)."""
        self.count += 1
        total = s.cost_total
        if total is None:
            self.unpriced += 1
        else:
            self.cost += total
            parts = self.parts
            flat = s.cost_parts
            if flat is None:
                ci, co = s.cost_input, s.cost_output
                parts["input"] = parts.get("input", _ZERO) + (ci if ci is not None else _ZERO)
                parts["output"] = parts.get("output", _ZERO) + (co if co is not None else _ZERO)
            else:
                for i in range(0, len(flat), 2):
                    k = flat[i]
                    parts[k] = parts.get(k, _ZERO) + flat[i + 1]
        u = s.usage
        if s.estimated or u.estimated:
            self.estimated += 1
        t = self.tokens
        t[0] += u.input
        t[1] += u.output
        t[2] += u.cache_read
        t[3] += u.cache_write_5m
        t[4] += u.cache_write_1h
        t[5] += u.reasoning
        self.usage_estimated = self.usage_estimated or u.estimated
        cache = s.cache
        if cache is not None:
            if cache.outcome != "miss":
                self.cache_hits += 1
            if cache.saved is not None:
                self.saved += cache.saved
        if s.truncated:
            self.truncated += 1
        if s.latency_ms is not None:
            self.latencies.append(s.latency_ms)
        ts = s.ts_us
        if self.first is None or ts < self.first_us:
            self.first, self.first_us = s.when, ts
        if self.last is None or ts > self.last_us:
            self.last, self.last_us = s.when, ts
        if s.billed_usd is not None:
            self.add_bill(s.billed_usd, total)

    def totals(self, key: dict[str, str | None]) -> GroupTotals:
        lat = sorted(self.latencies)
        order = {d: i for i, d in enumerate(COST_DIMENSIONS)}
        parts = dict(sorted(self.parts.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))
        t = self.tokens
        return GroupTotals(
            key=key,
            count=self.count,
            cost=self.cost,
            cost_by_dimension=parts,
            unpriced=self.unpriced,
            estimated=self.estimated,
            usage=Usage(t[0], t[1], t[2], t[3], t[4], t[5], estimated=self.usage_estimated),
            cache_hits=self.cache_hits,
            saved=self.saved,
            truncated=self.truncated,
            latency_p50_ms=percentile(lat, 50),
            latency_p95_ms=percentile(lat, 95),
            latency_p99_ms=percentile(lat, 99),
            first=None if self.first is None else utc(self.first),
            last=None if self.last is None else utc(self.last),
            billed=self.billed,
            billed_usd=self.billed_usd,
            billed_cost=self.billed_cost,
            billed_unpriced=self.billed_unpriced,
            billed_mismatch=self.billed_mismatch,
        )


def _sort_key(values: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((v is None, v or "") for v in values)


def aggregate_records(
    records: Iterable[CostRecord | RecordView], by: Sequence[str] = ()
) -> list[GroupTotals]:
    """Group ``records`` by the ``by`` names and total each group.

    Names: ``"model"``, ``"provider"``, ``"kind"``, ``"day"`` (UTC date, ``YYYY-MM-DD``),
    ``"run"`` (root run id), or any tag key (``"tag:<key>"`` to name a tag called like a
    built-in); a record without that tag is grouped under ``None``. Groups come sorted by key
    (``None`` last). ``by=()`` gives one group with key ``{}`` (none if there are no records).
    """
    if isinstance(by, str):
        by = (by,)
    names = tuple(by)
    getters = [_key_getter(n) for n in names]
    groups: dict[tuple[str | None, ...], _Acc] = {}
    for r in records:
        k = tuple(g(r) for g in getters)
        acc = groups.get(k)
        if acc is None:
            acc = groups[k] = _Acc()
        acc.add(r)
    return [
        groups[k].totals(dict(zip(names, k, strict=True))) for k in sorted(groups, key=_sort_key)
    ]


def _stored_key_getter(name: str) -> Callable[[StoredCall], str | None]:
    from tokenomy.ledger._stored import run_id_text

    if name in ("model", "provider", "kind"):
        return lambda s: getattr(s, name)
    if name == "hour":
        return lambda s: utc(s.when).strftime("%Y-%m-%dT%H")
    if name == "day":
        return lambda s: utc(s.when).date().isoformat()
    if name == "month":
        return lambda s: utc(s.when).strftime("%Y-%m")
    if name == "run":
        return lambda s: run_id_text(s.root_run_id) or run_id_text(s.run_id) or s.record_id
    tag = name[4:] if name.startswith("tag:") else name
    return lambda s: s.tags.get(tag)


def aggregate_stored(items: Iterable[Any], by: Sequence[str] = ()) -> list[GroupTotals]:
    """:func:`aggregate_records` over stored calls and records mixed, reading each stored call
    as it is (the :class:`MemoryLedger`'s path: no record is built)."""
    from tokenomy.ledger._stored import StoredCall

    names = check_by(by)
    rec_getters = [_key_getter(n) for n in names]
    stored_getters = [_stored_key_getter(n) for n in names]
    groups: dict[tuple[str | None, ...], _Acc] = {}
    for item in items:
        if type(item) is StoredCall:
            k = tuple(g(item) for g in stored_getters)
            acc = groups.get(k)
            if acc is None:
                acc = groups[k] = _Acc()
            acc.add_stored(item)
        else:
            k = tuple(g(item) for g in rec_getters)
            acc = groups.get(k)
            if acc is None:
                acc = groups[k] = _Acc()
            acc.add(item)
    return [
        groups[k].totals(dict(zip(names, k, strict=True))) for k in sorted(groups, key=_sort_key)
    ]
