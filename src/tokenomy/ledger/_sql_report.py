"""Aggregation in SQL, shared by the SQLite and PostgreSQL ledgers (schema version 3 and up).

One ``GROUP BY`` per :meth:`SqlAggregator.aggregate` call reads only integer columns: money as
picodollars (``cost_p``, ``cost_<dimension>_p``, ``saved_p``; sums are exact integers), tags by
their tag set's id (``tagset``; a tag's value per tag set comes from the small side table
``<table>_tag_items``), the hour or day as an integer number, the latency as a logarithmic
bucket. Each row of the result is a partial total of one (SQL key, latency bucket); Python
merges them into the groups asked for (a month from its days, a tag value from its tag sets)
and reads the latency percentiles from the merged bucket counts (so within 1% of the exact
value: ``GroupTotals.latency_approximate``). A row whose money is not exactly in picodollars
(``money_inexact``) or a sum SQLite cannot hold in 64 bits sends the query to the exact Python
aggregation of the same records instead: the totals always equal the exact ``Decimal`` sum.

Since schema v7 the partial groups of whole UTC months are kept on write in a rollup table
(``ledger/_rollup.py``): when the groupings and the filter are on its key, the partial rows come
from it (and, for the edges of a time range cutting a month, from the records), merged the same
way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tokenomy.ledger._aggregate import (
    GroupTotals,
    _sort_key,
    aggregate_records,
    check_by,
)
from tokenomy.ledger._rollup import BILLED_SUMS, month_bounds, real_check_sql, row_sums
from tokenomy.ledger._sql_filter import where_clause
from tokenomy.ledger._sql_keys import (
    ROLLUP_NAMES,
    Conv,
    column,
    rollup_key,
    sql_key,
    tag_alias,
    tag_name,
    tag_of,
    time_of,
)
from tokenomy.ledger._sql_sums import (
    FLAG_KEYS,
    Merged,
    attempt_totals,
    billed_sums,
    flag_keys,
    outer_sums,
    sums,
)
from tokenomy.ledger._store import (
    AnyRecord,
    AttemptTotals,
    RunPage,
    attempts_from,
    latest_runs,
    top_costs,
)

if TYPE_CHECKING:
    from tokenomy.ledger._filter import RecordFilter
    from tokenomy.ledger._record import CostRecord
    from tokenomy.ledger._view import RecordView

__all__ = ["MoneyOverflowError", "SqlAggregator", "SqlDialect", "tagset_filter"]


class MoneyOverflowError(Exception):
    """A picodollar sum did not fit the database's integer (SQLite: 64 bits)."""


@dataclass(frozen=True, slots=True)
class SqlDialect:
    """What differs between the two databases: the placeholder and the (quoted) table names."""

    ph: str
    table: str
    items: str
    order: str  # the insertion-order column: rowid (SQLite) or seq (PostgreSQL)
    pg: bool = False
    runs: str = ""  # the runs side table (one row per run_key, schema v4)
    # how the billed rows' query names the table: SQLite is told to read the partial index
    # of the billed rows (else it scans the aggregation index for its group order and looks
    # up every row for billed_p)
    billed_source: str = ""
    # the table of the sparse columns the ledger has filled (schema v6, ledger/_used.py); ""
    # before it: every column is summed
    used: str = ""
    # the monthly rollup of the partial groups (schema v7, ledger/_rollup.py); "" before it
    rollup: str = ""
    # the one-row table counting the runs table's rows (schema v7); "" before it
    run_count: str = ""


def tagset_filter(dialect: SqlDialect) -> Callable[[Mapping[str, str]], tuple[str, list[Any]]]:
    """The ``tags_sql`` of :func:`where_clause` through the tag items (no JSON read per row)."""
    ph = dialect.ph

    def tags_sql(tags: Mapping[str, str]) -> tuple[str, list[Any]]:
        clauses = []
        params: list[Any] = []
        for k, v in tags.items():
            clauses.append(
                f"tagset IN (SELECT tagset FROM {dialect.items} WHERE key = {ph} AND value = {ph})"
            )
            params.extend((k, v))
        return " AND ".join(clauses), params

    return tags_sql


class SqlAggregator:
    """The report queries of one SQL store; ``fetch(sql, params)`` runs a read and returns rows,
    ``records(sql, params)`` returns the records of a ``SELECT <record columns>`` (``views``:
    as :class:`RecordView` s, what a report shows; ``view_stream`` streams them)."""

    def __init__(
        self,
        dialect: SqlDialect,
        *,
        select: str,
        fetch: Callable[[str, list[Any]], list[Any]],
        records: Callable[[str, list[Any]], list[CostRecord]],
        stream: Callable[[str, list[Any]], Iterator[CostRecord]],
        fetch_groups: Callable[[str, list[Any]], list[Any]] | None = None,
        views: Callable[[str, list[Any]], list[RecordView]],
        view_stream: Callable[[str, list[Any]], Iterator[RecordView]],
    ) -> None:
        self.d = dialect
        self._select = select
        self._fetch = fetch
        self._records = records
        self._stream = stream
        self._views = views
        self._view_stream = view_stream
        self._fetch_groups = fetch_groups or fetch
        self._tags_sql = tagset_filter(dialect)
        self._sums = sums(dialect.pg)
        self._outer = outer_sums(dialect.pg)
        self._flags = flag_keys(dialect.pg)
        self._bill_sums = billed_sums(dialect.pg)

    def where(self, where: RecordFilter | None, *extra: str) -> tuple[str, list[Any]]:
        """``(" WHERE ...", params)`` of ``where`` plus ``extra`` conditions."""
        clause, params = where_clause(where, ph=self.d.ph, tags_sql=self._tags_sql)
        if extra:
            joined = " AND ".join(extra)
            clause = f"{clause} AND {joined}" if clause else f" WHERE {joined}"
        return clause, params

    def stream(
        self, where: RecordFilter | None, *, newest_first: bool = False
    ) -> Iterator[CostRecord]:
        """Every matching record, in time order, fetched in batches."""
        return self._stream(*self._ordered(where, newest_first))

    def _ordered(self, where: RecordFilter | None, newest_first: bool) -> tuple[str, list[Any]]:
        clause, params = self.where(where)
        o = self.d.order
        order = f" ORDER BY ts_us DESC, {o} DESC" if newest_first else f" ORDER BY ts_us, {o}"
        return self._select + clause + order, params

    # -- totals and groups ------------------------------------------------------------------

    def _inexact(self, where: RecordFilter | None) -> bool:
        """Whether a matching row holds money the picodollar columns do not (partial index)."""
        clause, params = self.where(where, "money_inexact = 1")
        return bool(self._fetch(f"SELECT 1 FROM {self.d.table}{clause} LIMIT 1", params))

    def _grouped(
        self,
        names: tuple[str, ...],
        direct: bool,
        clause: str,
        params: list[Any],
        inner: tuple[str, ...],
        outer: tuple[str, ...],
        flags: tuple[str, ...],
        source: str,
        key_of: Callable[[str], str] = sql_key,
        partial: bool = False,
    ) -> tuple[str, list[Any], list[str]]:
        """The grouping query: an inner GROUP BY computing the ``inner`` aggregates per partial
        group, then the groups asked for from its few rows, with the ``outer`` aggregates over
        them (``c.a<i>`` is inner aggregate ``i``; ``c.<flag>`` a flag key). Returns the SQL,
        its parameters and the outer key columns (before the latency bucket in each row).

        Grouping by tags, model, provider or kind (``direct``), the inner keys are the
        columns the aggregation index leads with (the cube: tag set, model, provider, kind,
        latency bucket, then the ``flags``), scanned in order (no sort), and tag values are
        joined from the tag items; otherwise the inner keys are the SQL keys of ``names``
        (the hour or day number, the run), the bucket and the flags. A ``partial`` source
        (the monthly rollup) holds partial groups already: its rows are read as they are
        (``inner`` names its columns), with no inner GROUP BY."""
        inner_cols = ", ".join(f"{agg} AS a{i}" for i, agg in enumerate(inner))
        flag_cols = "".join(f", {f}" for f in flags)
        joins: list[str] = []
        join_params: list[Any] = []
        outer_keys: list[str] = []
        if direct:
            cube = f"tagset, model, provider, kind, lat_bucket{flag_cols}"
            for name in names:
                tag = tag_name(name)
                if tag is None:
                    outer_keys.append(f"c.{name}")
                    continue
                alias = f"t{len(joins)}"
                joins.append(
                    f" LEFT JOIN {self.d.items} {alias} ON {alias}.tagset = c.tagset "
                    f"AND {alias}.key = {self.d.ph}"
                )
                join_params.append(tag)
                outer_keys.append(f"{alias}.value")
            outer_keys = list(dict.fromkeys(outer_keys))
            select = cube
        else:
            sql_keys = list(dict.fromkeys(key_of(n) for n in names))
            keyed = "".join(f"{k} AS k{i}, " for i, k in enumerate(sql_keys))
            cube = "".join(f"{k}, " for k in sql_keys) + f"lat_bucket{flag_cols}"
            select = f"{keyed}lat_bucket{flag_cols}"
            outer_keys = [f"c.k{i}" for i in range(len(sql_keys))]
        sub = f"SELECT {select}, {inner_cols} FROM {source}{clause}"
        if not partial:
            sub += f" GROUP BY {cube}"
        keys = "".join(f"{k}, " for k in outer_keys)
        sql = (
            f"SELECT {keys}c.lat_bucket, {', '.join(outer)} FROM ({sub}) c{''.join(joins)} "
            f"GROUP BY {keys}c.lat_bucket"
        )
        return sql, [*params, *join_params], outer_keys

    def aggregate(self, by: Sequence[str], where: RecordFilter | None) -> list[GroupTotals]:
        """Totals per group (see the module docstring)."""
        return self.aggregate_many([by], where)[0]

    def aggregate_many(
        self, bys: Sequence[Sequence[str]], where: RecordFilter | None
    ) -> list[list[GroupTotals]]:
        """:meth:`aggregate` for several groupings from one query (grouped by all their names,
        each grouping merged from its rows)."""
        return self.aggregate_report(bys, where)[0]

    def aggregate_report(
        self, bys: Sequence[Sequence[str]], where: RecordFilter | None
    ) -> tuple[list[list[GroupTotals]], AttemptTotals]:
        """:meth:`aggregate_many` and the :class:`AttemptTotals` of the same rows, from one
        query (one read of the matching records)."""
        groupings = [check_by(by) for by in bys]
        names = tuple(dict.fromkeys(n for g in groupings for n in g))
        direct = all(n in ("model", "provider", "kind") or tag_name(n) is not None for n in names)
        try:
            parts = None
            if not self._inexact(where):
                parts = self._partial_rows(names, direct, where)
        except MoneyOverflowError:
            parts = None
        if parts is None:
            found = [aggregate_records(self.stream(where), g) for g in groupings]
            return found, attempts_from(self._exact_totals, where)
        rows, bills, keys = parts
        nk = len(keys)
        convs = self._direct(names, keys) if direct else self._converters(names, keys)
        by_name = dict(zip(names, convs, strict=True))
        out = []
        for grouping in groupings:
            converters = [by_name[n] for n in grouping]
            groups: dict[tuple[str | None, ...], list[Any]] = {}
            for row in rows:
                key = tuple([conv(row) for conv in converters])
                group = groups.get(key)
                if group is None:
                    groups[key] = [row]
                else:
                    group.append(row)
            merged = {k: Merged(group, nk) for k, group in groups.items()}
            for row in bills:  # every billed row is in a group of ``rows`` too
                merged[tuple(conv(row) for conv in converters)].add_billed(row[nk + 1 :])
            out.append(
                [
                    merged[k].totals(dict(zip(grouping, k, strict=True)))
                    for k in sorted(merged, key=_sort_key)
                ]
            )
        return out, attempt_totals(rows, nk)

    def _partial_rows(
        self, names: tuple[str, ...], direct: bool, where: RecordFilter | None
    ) -> tuple[list[Any], list[Any], list[str]]:
        """The partial rows of the groups and of the billed rows, and the outer key columns:
        from the monthly rollup where it can answer (whole UTC months; the records of the
        months ``since``/``until`` cut are read from the table and their rows added), else
        from the records."""
        plan = self._rollup_plan(names, where)
        if plan is None:
            return self._raw_rows(names, direct, where)
        kept, first, end, edges = plan
        extra = []
        if first is not None:
            extra.append(f"month_us >= {int(first)}")
        if end is not None:
            extra.append(f"month_us < {int(end)}")
        clause, params = self.where(kept, *extra)
        used = self._used()
        sql, params, keys = self._grouped(
            names, direct, clause, params, row_sums(self.d.pg, used),
            outer_sums(self.d.pg, keyed=True), FLAG_KEYS, self.d.rollup, rollup_key,
            partial=True,
        )  # fmt: skip
        bill_clause, bill_params = self.where(kept, *extra, "billed_n > 0")
        bill_sql, bill_params, _ = self._grouped(
            names, direct, bill_clause, bill_params, BILLED_SUMS,
            tuple(f"SUM(c.a{i})" for i in range(len(BILLED_SUMS))), (), self.d.rollup,
            rollup_key, partial=True,
        )  # fmt: skip
        # a small table: none of the settings of the records' GROUP BY (_fetch_groups)
        rows = list(self._fetch(sql, params))
        bills = list(self._fetch(bill_sql, bill_params))
        if edges:
            ranges = " OR ".join(f"(ts_us >= {int(a)} AND ts_us < {int(b)})" for a, b in edges)
            edge_rows, edge_bills, _ = self._raw_rows(names, direct, kept, f"({ranges})", used=used)
            rows += edge_rows
            bills += edge_bills
        return rows, bills, keys

    def _rollup_plan(
        self, names: tuple[str, ...], where: RecordFilter | None
    ) -> tuple[RecordFilter | None, int | None, int | None, list[tuple[int, int]]] | None:
        """Whether the rollup answers: ``(the filter without its time range, the first whole
        month, the end of the last, the edge ranges read from the records)``, or ``None``."""
        if not self.d.rollup:
            return None
        if any(n not in ROLLUP_NAMES and tag_name(n) is None for n in names):
            return None  # hour, day, run: not in the rollup's key
        kept = where
        first = end = None
        edges: list[tuple[int, int]] = []
        if where is not None:
            if where.run_id is not None or where.root_run_id is not None:
                return None
            if where.priced is not None:  # cost_total: not in the rollup's key
                return None
            if where.since is not None or where.until is not None:
                bounds = month_bounds(where.since_us, where.until_us)
                if bounds is None:
                    return None
                first, end, edges = bounds
                kept = replace(where, since=None, until=None)
        if not self.d.pg and self._fetch(real_check_sql(self.d.rollup), []):
            return None  # a sum past SQLite's 64-bit integers: the records say exactly
        return kept, first, end, edges

    def _used(self) -> frozenset[str] | None:
        """The sparse columns the ledger has filled (``ledger/_used.py``; ``None``: before v6)."""
        if not self.d.used:
            return None
        return frozenset(str(r[0]) for r in self._fetch(f"SELECT name FROM {self.d.used}", []))

    def _raw_rows(
        self,
        names: tuple[str, ...],
        direct: bool,
        where: RecordFilter | None,
        *extra: str,
        used: frozenset[str] | None = None,
    ) -> tuple[list[Any], list[Any], list[str]]:
        """The partial rows of the groups and of the billed rows read from the records
        (``used``: the sparse columns filled, when already read)."""
        clause, params = self.where(where, *extra)
        inner = self._sums
        if used is None:
            used = self._used()
        if used is not None:
            inner = sums(self.d.pg, used)
        sql, params, keys = self._grouped(
            names, direct, clause, params, inner, self._outer, self._flags, self.d.table
        )
        bill_clause, bill_params = self.where(where, *extra, "billed_p IS NOT NULL")
        bill_sql, bill_params, _ = self._grouped(
            names,
            direct,
            bill_clause,
            bill_params,
            self._bill_sums,
            tuple(f"SUM(c.a{i})" for i in range(len(self._bill_sums))),
            (),
            self.d.billed_source or self.d.table,
        )
        rows = self._fetch_groups(sql, params)
        bills = self._fetch_groups(bill_sql, bill_params)
        return list(rows), list(bills), keys

    def _exact_totals(self, where: RecordFilter) -> GroupTotals:
        """The totals of ``where`` summed in Python (exact where the SQL sums are not)."""
        found = aggregate_records(self.stream(where), ())
        return found[0] if found else GroupTotals(key={})

    def _direct(self, names: Sequence[str], outer_keys: list[str]) -> list[Conv]:
        out: list[Conv] = []
        for name in names:
            if tag_name(name) is None:
                i = outer_keys.index(f"c.{name}")
            else:
                i = outer_keys.index(f"t{tag_alias(names, name)}.value")
            out.append(column(i))
        return out

    def _converters(self, names: Sequence[str], outer_keys: list[str]) -> list[Conv]:
        sql_keys = list(dict.fromkeys(sql_key(n) for n in names))
        assert len(sql_keys) == len(outer_keys)
        out: list[Conv] = []
        for name in names:
            i = sql_keys.index(sql_key(name))
            tag = tag_name(name)
            if tag is not None:
                out.append(tag_of(i, self._tag_values(tag)))
            elif name in ("hour", "day", "month"):
                out.append(time_of(i, name))
            else:
                out.append(column(i))
        return out

    def _tag_values(self, key: str) -> dict[int, str]:
        rows = self._fetch(
            f"SELECT tagset, value FROM {self.d.items} WHERE key = {self.d.ph}", [key]
        )
        return {int(t): v for t, v in rows}

    # -- call-outs --------------------------------------------------------------------------

    def most_expensive(self, n: int, where: RecordFilter | None) -> list[CostRecord]:
        """The ``n`` records charged the most (the bill where the provider reported one, else
        the price-book cost; earlier first on ties): the top of the unbilled calls by cost (the
        cost index), of the billed ones by bill (their partial index), and the few whose
        amounts did not fit the integer columns, merged."""
        return self._most_expensive(n, where, self._records)

    def most_expensive_views(self, n: int, where: RecordFilter | None) -> list[RecordView]:
        """:meth:`most_expensive` read as :class:`RecordView` s."""
        return self._most_expensive(n, where, self._views)

    def _most_expensive(
        self,
        n: int,
        where: RecordFilter | None,
        read: Callable[[str, list[Any]], list[AnyRecord]],
    ) -> list[AnyRecord]:
        if n <= 0:
            return []
        o = self.d.order
        clause: str
        params: list[Any]
        clause, params = self.where(where, "cost_p IS NOT NULL", "billed_usd IS NULL")
        top = read(
            f"{self._select}{clause} ORDER BY cost_p DESC, ts_us, {o} LIMIT {self.d.ph}",
            [*params, n],
        )
        clause, params = self.where(where, "billed_p IS NOT NULL")
        top += read(
            f"{self._select}{clause} ORDER BY billed_p DESC, ts_us, {o} LIMIT {self.d.ph}",
            [*params, n],
        )
        clause, params = self.where(
            where,
            "money_inexact = 1",
            "((billed_usd IS NOT NULL AND billed_p IS NULL)"
            " OR (billed_usd IS NULL AND cost_total IS NOT NULL AND cost_p IS NULL))",
        )
        odd = read(f"{self._select}{clause} ORDER BY ts_us, {o}", params)
        merged = sorted(top + odd, key=lambda r: r.timestamp)
        return top_costs(merged, n)

    def run_page(
        self, where: RecordFilter | None, limit: int | None, *, total: int | None = None
    ) -> RunPage[CostRecord]:
        """How many runs match (``total`` when known), and the records of the ``limit`` that
        started last."""
        return self._run_page(where, limit, total, self._records, self._stream)

    def run_page_views(
        self, where: RecordFilter | None, limit: int | None, *, total: int | None = None
    ) -> RunPage[RecordView]:
        """:meth:`run_page` with its records read as :class:`RecordView` s."""
        return self._run_page(where, limit, total, self._views, self._view_stream)

    def _run_page(
        self,
        where: RecordFilter | None,
        limit: int | None,
        total: int | None,
        read: Callable[[str, list[Any]], list[AnyRecord]],
        stream: Callable[[str, list[Any]], Iterator[AnyRecord]],
    ) -> RunPage[AnyRecord]:
        clause, params = self.where(where)
        if total is None:
            total = self._count_runs(clause, params)
        if limit is None:
            return latest_runs(stream(*self._ordered(where, False)), None)
        if limit <= 0 or total == 0:
            return RunPage(total, [])
        return self._page_of(where, limit, total, read)

    def _count_runs(self, clause: str, params: list[Any]) -> int:
        if not clause and self.d.run_count:  # every run: counted by the writer
            return int(self._fetch(f"SELECT runs FROM {self.d.run_count}", [])[0][0])
        if not clause and self.d.runs:  # every run: the runs table has one row each
            return int(self._fetch(f"SELECT COUNT(*) FROM {self.d.runs}", [])[0][0])
        return int(
            self._fetch(
                f"SELECT COUNT(*) FROM (SELECT DISTINCT run_key FROM {self.d.table}{clause}) d",
                params,
            )[0][0]
        )

    def _page_of(
        self,
        where: RecordFilter | None,
        limit: int,
        total: int,
        read: Callable[[str, list[Any]], list[AnyRecord]],
    ) -> RunPage[AnyRecord]:
        roots: list[str] = self._latest_roots(where, limit)
        marks = ", ".join([self.d.ph] * len(roots))
        clause: str
        params: list[Any]
        clause, params = self.where(where, f"run_key IN ({marks})")
        records = read(f"{self._select}{clause} ORDER BY ts_us, {self.d.order}", [*params, *roots])
        return RunPage(total, records)

    def _latest_roots(self, where: RecordFilter | None, limit: int) -> list[str]:
        """The ``limit`` run keys that started last (latest start first).

        Reads the newest records only: once ``limit`` runs seen among the newest ``k`` records
        started after the oldest of those ``k``, no run unseen can start later (all its
        records are older). Otherwise ``k`` grows; past a bound, one GROUP BY over every run.
        """
        o, ph, table = self.d.order, self.d.ph, self.d.table
        clause, params = self.where(where)
        k = max(64, 8 * limit)
        while k <= 16_384:
            newest = self._fetch(
                f"SELECT run_key, ts_us FROM {table}{clause} ORDER BY ts_us DESC, {o} DESC "
                f"LIMIT {ph}",
                [*params, k],
            )
            keys = list(dict.fromkeys(r[0] for r in newest))
            marks = ", ".join([ph] * len(keys))
            in_clause, in_params = self.where(where, f"run_key IN ({marks})")
            starts = self._fetch(
                f"SELECT run_key, MIN(ts_us), MIN({o}) FROM {table}{in_clause} GROUP BY run_key",
                [*in_params, *keys],
            )
            ranked = sorted(starts, key=lambda r: (int(r[1]), int(r[2])), reverse=True)
            if len(newest) < k:  # every matching record was read
                return [r[0] for r in ranked[:limit]]
            oldest = int(newest[-1][1])
            later = [r for r in ranked if int(r[1]) > oldest]
            if len(later) >= limit:
                return [r[0] for r in later[:limit]]
            k *= 4
        return [
            r[0]
            for r in self._fetch(
                f"SELECT run_key FROM {table}{clause} GROUP BY run_key "
                f"ORDER BY MIN(ts_us) DESC, MIN({o}) DESC LIMIT {ph}",
                [*params, limit],
            )
        ]

    def unpriced_models(self, where: RecordFilter | None) -> dict[str, int]:
        """Models of the unpriced records, with their counts."""
        clause, params = self.where(where, "cost_total IS NULL")
        rows = self._fetch(
            f"SELECT model, COUNT(*) FROM {self.d.table}{clause} GROUP BY model", params
        )
        return {str(m): int(c) for m, c in rows}
