"""What one partial row of the SQL aggregation sums (:func:`sums` per row into partial groups,
:func:`outer_sums` over those, :func:`billed_sums`) and how the partial rows of one group merge
into its :class:`GroupTotals` (:class:`Merged`) and the attempt figures (:func:`attempt_totals`),
for ``ledger/_sql_report.py``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tokenomy.ledger._aggregate import GroupTotals, histogram_percentile
from tokenomy.ledger._billed import BILLED_TOLERANCE
from tokenomy.ledger._rows import MONEY_COLUMNS, bucket_value, from_pico
from tokenomy.ledger._store import AttemptTotals
from tokenomy.ledger._used import SPARSE, TOKEN_SPARSE
from tokenomy.pricing._model import COST_DIMENSIONS
from tokenomy.usage._model import Usage

__all__ = [
    "FLAG_KEYS",
    "Merged",
    "attempt_totals",
    "billed_sums",
    "flag_keys",
    "outer_sums",
    "sums",
]

_ZERO = Decimal(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NDIM = len(COST_DIMENSIONS)


#: The per-row flags the report counts, and ``attempt`` and ``error`` (the exception's class
#: name: few values) for its retries and failures. The aggregation index holds them right after
#: its cube columns since schema v6. SQLite's inner GROUP BY takes them as keys (read in index
#: order: no sort, and no aggregate per flag per row; the outer query counts them from the
#: partial groups' counts); PostgreSQL counts them per row instead (``FILTER``): its planner,
#: guessing two values per boolean and 200 for an all-NULL column, would expect as many
#: partial groups as rows and give up the parallel scan.
FLAG_KEYS: tuple[str, ...] = (
    "attempt", "error", "cache_outcome", "estimated", "usage_estimated", "truncated",
)  # fmt: skip

_BASE = (
    "COUNT(*)",
    "SUM(cost_p)",
    *(f"SUM({MONEY_COLUMNS[d]})" for d in COST_DIMENSIONS),
    "SUM(saved_p)",
    # priced: has a picodollar total (exact unless money_inexact, checked apart)
    "COUNT(cost_p)",
    "SUM(input_tokens)",
    "SUM(output_tokens)",
    "SUM(cache_read_tokens)",
    "SUM(cache_write_5m_tokens)",
    "SUM(cache_write_1h_tokens)",
    "SUM(reasoning_tokens)",
    "MIN(ts_us)",
    "MAX(ts_us)",
)
# PostgreSQL's per-row counts of the flags, in the order of _FLAG_FIGURES
_PG_FLAGS = (
    "COUNT(*) FILTER (WHERE estimated OR usage_estimated)",
    "COUNT(*) FILTER (WHERE usage_estimated)",
    "COUNT(*) FILTER (WHERE cache_outcome <> 'miss')",
    "COUNT(*) FILTER (WHERE truncated)",
    "COUNT(*) FILTER (WHERE attempt = 1)",
    "COUNT(*) FILTER (WHERE attempt > 1)",
    "SUM(cost_p) FILTER (WHERE attempt > 1)",
    "COUNT(error)",
    "SUM(cost_p) FILTER (WHERE error IS NOT NULL)",
)


def flag_keys(pg: bool) -> tuple[str, ...]:
    """The flag columns the inner GROUP BY adds to its keys (see :data:`FLAG_KEYS`)."""
    return () if pg else FLAG_KEYS


def sums(pg: bool, used: frozenset[str] | None = None) -> tuple[str, ...]:
    """The aggregates of a partial group, run per row: sums of columns (PostgreSQL's
    SUM(bigint) is an exact NUMERIC), and on PostgreSQL the flags' counts. With ``used`` (the
    sparse columns the ledger has filled, ``ledger/_used.py``), a sparse column not in it reads
    as what its sum is, a constant: NULL money, 0 tokens."""
    out = (*_BASE, *_PG_FLAGS) if pg else _BASE
    if used is None:
        return out
    skip = {f"SUM({c})": "0" if c in TOKEN_SPARSE else ("NULL::bigint" if pg else "NULL")
            for c in SPARSE if c not in used}  # fmt: skip
    return tuple(skip.get(agg, agg) for agg in out)


# positions of the partial aggregates (``c.a<i>`` in the outer query)
_I_COUNT, _I_COST, _I_SAVED = 0, 1, 2 + _NDIM
_I_PRICED, _I_TOK0 = _I_SAVED + 1, _I_SAVED + 2
_I_FIRST, _I_LAST = _I_TOK0 + 6, _I_TOK0 + 7
_I_FLAGS = _I_LAST + 1


def outer_sums(pg: bool, keyed: bool | None = None) -> tuple[str, ...]:
    """What the outer query adds up over the partial groups ``c`` (a few thousand rows for a
    million calls), in the order :class:`Merged` reads: the sums, the flags (``keyed``, by
    default on SQLite and over the monthly rollup: counted from the partial counts by the
    flag keys, 0/1 flags read as truth values; else PostgreSQL's per-row counts), and the
    attempt figures of :class:`~tokenomy.ledger._store.AttemptTotals`. PostgreSQL's counts come
    back as ``bigint`` (a NUMERIC costs more to read, and a count cannot overflow it)."""
    n, cost = f"c.a{_I_COUNT}", f"c.a{_I_COST}"
    if keyed is None:
        keyed = not pg

    def count(agg: str) -> str:
        return f"({agg})::bigint" if pg else agg

    def where(cond: str, value: str = n, otherwise: str = " ELSE 0") -> str:
        return f"SUM(CASE WHEN {cond} THEN {value}{otherwise} END)"

    if not keyed:
        f = [f"SUM(c.a{_I_FLAGS + i})" for i in range(len(_PG_FLAGS))]
        f[1] = f"MAX(c.a{_I_FLAGS + 1})"  # any usage estimated
    else:
        f = [
            where("c.estimated OR c.usage_estimated"),
            "MAX(CASE WHEN c.usage_estimated THEN 1 ELSE 0 END)",
            where("c.cache_outcome <> 'miss'"),
            where("c.truncated"),
            where("c.attempt = 1"),
            where("c.attempt > 1"),
            where("c.attempt > 1", cost, ""),
            where("c.error IS NOT NULL"),
            where("c.error IS NOT NULL", cost, ""),
        ]
    for i in (0, 2, 3, 4, 5, 7):  # the counts
        f[i] = count(f[i])
    return (
        count(f"SUM({n})"),
        f"SUM({cost})",
        *(f"SUM(c.a{2 + i})" for i in range(_NDIM)),
        f"SUM(c.a{_I_SAVED})",
        count(f"SUM(c.a{_I_PRICED})"),
        f[0],
        *(f"SUM(c.a{_I_TOK0 + i})" for i in range(6)),
        f[1],
        f[2],
        f[3],
        f"MIN(c.a{_I_FIRST})",
        f"MAX(c.a{_I_LAST})",
        *f[4:],
    )


def billed_sums(pg: bool) -> tuple[str, ...]:
    """The aggregates over the billed rows (``billed_p IS NOT NULL``, a partial index: the
    usual ledger has none, and its main query pays nothing for bills): how many, their bills,
    the price book's cost of them, how many it priced, how many differ by more than
    ``BILLED_TOLERANCE`` of the bill (``ledger/_billed.py``, in exact integers)."""
    num, den = BILLED_TOLERANCE.as_integer_ratio()
    diff = "abs(cost_p - billed_p)" + ("::numeric" if pg else "")
    odd = f"CASE WHEN cost_p IS NULL THEN billed_p <> 0 ELSE {diff} * {den} > billed_p * {num} END"
    return (
        "COUNT(*)",
        "SUM(billed_p)",
        "SUM(cost_p)",
        "COUNT(cost_p)",
        f"SUM(({odd}){'::int' if pg else ''})",
    )


# positions in a partial row (after the key columns and the bucket)
_COUNT, _COST, _DIM0 = 0, 1, 2
_SAVED = _DIM0 + _NDIM
_PRICED, _EST, _TOK0 = _SAVED + 1, _SAVED + 2, _SAVED + 3
_UEST, _HITS, _TRUNC, _FIRST, _LAST = (
    _TOK0 + 6,
    _TOK0 + 7,
    _TOK0 + 8,
    _TOK0 + 9,
    _TOK0 + 10,
)
_ATTEMPTS = _LAST + 1  # first attempts, retried, their cost, failed, their cost


def attempt_totals(rows: Sequence[Sequence[Any]], nk: int) -> AttemptTotals:
    """The attempt figures over every partial row of the query (``nk`` key columns)."""
    start = nk + 1 + _ATTEMPTS
    cols = list(zip(*(row[start : start + 5] for row in rows), strict=True))
    first, retried, retried_cost, failed, failed_cost = (
        [_sum(col) for col in cols] if cols else [None] * 5
    )
    return AttemptTotals(
        first=first or 0,
        retried=retried or 0,
        retried_cost=_ZERO if retried_cost is None else from_pico(retried_cost),
        failed=failed or 0,
        failed_cost=_ZERO if failed_cost is None else from_pico(failed_cost),
    )


def _sum(col: Sequence[Any]) -> int | None:
    """The exact sum of a column of partial sums (ints, or PostgreSQL's NUMERIC); ``None`` when
    every one is NULL (no amount at all)."""
    present = [x for x in col if x is not None]
    return int(sum(present)) if present else None


class Merged:
    """The partial rows of one group, merged column by column (``sum`` over each column:
    the rows of a million-call report are a few thousand, merged per grouping)."""

    __slots__ = ("billed", "buckets", "ints", "money")

    def __init__(self, rows: Sequence[Sequence[Any]], nk: int) -> None:
        cols = list(zip(*rows, strict=True))
        v = cols[nk + 1 :]
        count = _sum(v[_COUNT]) or 0
        self.ints = [
            count,
            count - (_sum(v[_PRICED]) or 0),
            _sum(v[_EST]) or 0,
            *(_sum(v[_TOK0 + i]) or 0 for i in range(6)),
            max(int(x) for x in v[_UEST]),
            _sum(v[_HITS]) or 0,
            _sum(v[_TRUNC]) or 0,
            min(int(x) for x in v[_FIRST]),
            max(int(x) for x in v[_LAST]),
        ]  # count, unpriced, est, tokens x6, uest, hits, trunc, first, last
        self.money = [_sum(v[pos]) for pos in (_COST, *range(_DIM0, _DIM0 + _NDIM), _SAVED)]
        buckets: dict[int, int] = {}
        for b, n in zip(cols[nk], v[_COUNT], strict=True):
            if b is not None:
                buckets[int(b)] = buckets.get(int(b), 0) + int(n)
        self.buckets = buckets
        self.billed = [0, 0, 0, 0, 0]  # count, bills, their book cost, priced, mismatched

    def add_billed(self, v: Sequence[Any]) -> None:
        b = self.billed
        for i in range(5):
            if v[i] is not None:
                b[i] += int(v[i])

    def totals(self, key: dict[str, str | None]) -> GroupTotals:
        ints, money = self.ints, self.money
        first_last = ints[12:14]
        parts = {
            d: from_pico(money[1 + i])
            for i, d in enumerate(COST_DIMENSIONS)
            if money[1 + i] is not None
        }
        hist = sorted(self.buckets.items())
        values = [(bucket_value(b), n) for b, n in hist]
        n_lat = sum(n for _, n in values)
        f, la = first_last
        return GroupTotals(
            key=key,
            count=ints[0],
            cost=_ZERO if money[0] is None else from_pico(money[0]),
            cost_by_dimension=parts,
            unpriced=ints[1],
            estimated=ints[2],
            usage=Usage(
                ints[3], ints[4], ints[5], ints[6], ints[7], ints[8], estimated=bool(ints[9])
            ),
            cache_hits=ints[10],
            saved=_ZERO if money[-1] is None else from_pico(money[-1]),
            truncated=ints[11],
            latency_p50_ms=histogram_percentile(values, n_lat, 50),
            latency_p95_ms=histogram_percentile(values, n_lat, 95),
            latency_p99_ms=histogram_percentile(values, n_lat, 99),
            first=None if f is None else _EPOCH + timedelta(microseconds=f),
            last=None if la is None else _EPOCH + timedelta(microseconds=la),
            latency_approximate=n_lat > 0,
            billed=self.billed[0],
            billed_usd=from_pico(self.billed[1]) if self.billed[0] else _ZERO,
            billed_cost=from_pico(self.billed[2]) if self.billed[0] else _ZERO,
            billed_unpriced=self.billed[0] - self.billed[3],
            billed_mismatch=self.billed[4],
        )
