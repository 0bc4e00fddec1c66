"""``AggregatedInSql``: the report queries of a SQL store (SQLite, PostgreSQL), answered by
its :class:`~tokenomy.ledger._sql_report.SqlAggregator` when the ledger has the aggregation
layout, else by :class:`LedgerStore`'s defaults over its records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tokenomy.ledger._rows import row_to_record, row_to_view
from tokenomy.ledger._store import AttemptTotals, LedgerStore, RunPage

if TYPE_CHECKING:
    from tokenomy.ledger._aggregate import GroupTotals
    from tokenomy.ledger._filter import RecordFilter
    from tokenomy.ledger._record import CostRecord
    from tokenomy.ledger._sql_report import SqlAggregator
    from tokenomy.ledger._view import RecordView

__all__ = ["AggregatedInSql"]


class AggregatedInSql(LedgerStore):
    """The report queries of a SQL store (SQLite, PostgreSQL): answered by its
    :class:`SqlAggregator` when the ledger has the aggregation layout (``_fast``), else by
    :class:`LedgerStore`'s defaults over its records (a ledger of an older schema, read as
    it is)."""

    @property
    def _fast(self) -> bool:
        raise NotImplementedError

    def _agg(self) -> SqlAggregator:
        raise NotImplementedError

    def _query_rows(
        self, where: RecordFilter | None, limit: int | None, newest_first: bool
    ) -> list[Any]:
        """The matching rows in the order :meth:`query` gives (the store's SQL)."""
        raise NotImplementedError

    def query(
        self,
        where: RecordFilter | None = None,
        *,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[CostRecord]:
        """Matching records, oldest first (ties in commit order) or newest first."""
        return [row_to_record(row) for row in self._query_rows(where, limit, newest_first)]

    def _query_views(
        self,
        where: RecordFilter | None = None,
        *,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[RecordView]:
        return [row_to_view(row) for row in self._query_rows(where, limit, newest_first)]

    def aggregate(
        self, by: Sequence[str] = (), where: RecordFilter | None = None
    ) -> list[GroupTotals]:
        """Totals per group, computed in SQL."""
        if not self._fast:
            return super().aggregate(by, where)
        return self._agg().aggregate(by, where)

    def aggregate_many(
        self, bys: Sequence[Sequence[str]], where: RecordFilter | None = None
    ) -> list[list[GroupTotals]]:
        """Several groupings from one SQL query."""
        if not self._fast:
            return super().aggregate_many(bys, where)
        return self._agg().aggregate_many(bys, where)

    def aggregate_report(
        self, bys: Sequence[Sequence[str]], where: RecordFilter | None = None
    ) -> tuple[list[list[GroupTotals]], AttemptTotals]:
        """The groupings and the attempt figures from one SQL query."""
        if not self._fast:
            return super().aggregate_report(bys, where)
        return self._agg().aggregate_report(bys, where)

    def attempt_totals(self, where: RecordFilter | None = None) -> AttemptTotals:
        """The attempt figures, from the totals' SQL query."""
        if not self._fast:
            return super().attempt_totals(where)
        return self._agg().aggregate_report([()], where)[1]

    def most_expensive(self, n: int = 10, where: RecordFilter | None = None) -> list[CostRecord]:
        """The ``n`` records charged the most, from the cost and bill indexes."""
        if not self._fast:
            return super().most_expensive(n, where)
        return self._agg().most_expensive(n, where)

    def run_page(
        self,
        where: RecordFilter | None = None,
        limit: int | None = None,
        *,
        total: int | None = None,
    ) -> RunPage[CostRecord]:
        """The runs count and the latest ``limit`` runs' records, found in SQL."""
        if not self._fast:
            return super().run_page(where, limit, total=total)
        return self._agg().run_page(where, limit, total=total)

    def _most_expensive_views(
        self, n: int = 10, where: RecordFilter | None = None
    ) -> list[RecordView]:
        if not self._fast:
            return super()._most_expensive_views(n, where)
        return self._agg().most_expensive_views(n, where)

    def _run_page_views(
        self,
        where: RecordFilter | None = None,
        limit: int | None = None,
        *,
        total: int | None = None,
    ) -> RunPage[RecordView]:
        if not self._fast:
            return super()._run_page_views(where, limit, total=total)
        return self._agg().run_page_views(where, limit, total=total)

    def unpriced_models(self, where: RecordFilter | None = None) -> dict[str, int]:
        """Unpriced models and their counts, from the unpriced index."""
        if not self._fast:
            return super().unpriced_models(where)
        return self._agg().unpriced_models(where)
