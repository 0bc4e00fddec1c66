"""The one extension point every ledger implements: :class:`LedgerStore`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Generic, Self, TypeVar

from tokenomy.exceptions import ConfigurationError
from tokenomy.ledger._aggregate import GroupTotals, aggregate_records, check_by

if TYPE_CHECKING:
    from tokenomy.ledger._filter import RecordFilter
    from tokenomy.ledger._record import CostRecord
    from tokenomy.ledger._stored import StoredCall
    from tokenomy.ledger._view import RecordView

__all__ = [
    "AnyRecord",
    "AttemptTotals",
    "LedgerStore",
    "RunPage",
    "attempts_from",
    "check_limit",
    "latest_runs",
    "top_costs",
]

_ZERO = Decimal(0)

#: A record as a store reads it: the :class:`CostRecord`, or its :class:`RecordView` (the values
#: without pydantic: what a report shows, ``ledger/_view.py``).
AnyRecord = TypeVar("AnyRecord", "CostRecord", "RecordView")


@dataclass(frozen=True, slots=True)
class AttemptTotals:
    """Records by attempt, for a report's retries: ``first`` attempts (``attempt`` 1),
    ``retried`` ones (``attempt`` > 1) and the price-book cost of those, ``failed`` ones
    (``error`` set) and theirs. Answers served without a provider call (``attempt`` 0) are
    neither first nor retried."""

    first: int = 0
    retried: int = 0
    retried_cost: Decimal = _ZERO
    failed: int = 0
    failed_cost: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class RunPage(Generic[AnyRecord]):
    """The shown page of runs: how many root runs match, and every record of the latest ones."""

    total: int
    records: list[AnyRecord]


def _root(r: CostRecord | RecordView) -> str:
    return r.root_run_id or r.run_id or r.record_id


def latest_runs(records: Iterable[AnyRecord], limit: int | None) -> RunPage[AnyRecord]:
    """The :class:`RunPage` of ``records`` (oldest first): the ``limit`` runs that started last."""
    from tokenomy.ledger._filter import epoch_us

    start: dict[str, int] = {}
    ordered = sorted(records, key=lambda r: epoch_us(r.timestamp))
    for r in ordered:
        start.setdefault(_root(r), epoch_us(r.timestamp))
    roots = sorted(start, key=start.__getitem__)  # stable: ties keep first-seen order
    if limit is not None:
        roots = roots[-limit:] if limit > 0 else []
    keep = set(roots)
    return RunPage(len(start), [r for r in ordered if _root(r) in keep])


def top_costs(records: Iterable[AnyRecord], n: int) -> list[AnyRecord]:
    """The ``n`` records charged the most (:attr:`CostRecord.charged_usd`: the provider's bill
    where it reported one, else the price-book cost; records with neither are left out),
    earlier first on ties (``records`` oldest first)."""
    from tokenomy.ledger._filter import epoch_us

    charged = [(c, r) for r in records if (c := r.charged_usd) is not None]
    charged.sort(key=lambda t: (-t[0], epoch_us(t[1].timestamp)))
    return [r for _, r in charged[: max(n, 0)]]


def attempts_from(
    totals: Callable[[RecordFilter], GroupTotals], where: RecordFilter | None
) -> AttemptTotals:
    """The :class:`AttemptTotals` of ``where`` from ``totals`` of the first, the retried and the
    failed attempts among its records (a zero group where ``where`` rules them out)."""
    from tokenomy.ledger._filter import RecordFilter

    def total(**criteria: bool) -> GroupTotals:
        narrowed = (where or RecordFilter()).narrowed(**criteria)
        return GroupTotals(key={}) if narrowed is None else totals(narrowed)

    first, retried, failed = total(retry=False), total(retry=True), total(failed=True)
    return AttemptTotals(first.count, retried.count, retried.cost, failed.count, failed.cost)


def check_limit(limit: int | None) -> None:
    """Reject a ``limit`` that is not ``None`` or a non-negative int."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ConfigurationError(f"query(limit=...) must be None or an int >= 0, got {limit!r}")


class LedgerStore(ABC):
    """Where :class:`CostRecord` s are kept, and how they are read back and totalled.

    Implement :meth:`add_many`, :meth:`query`, :meth:`count`, :meth:`mark_usable` and
    :meth:`close`; the rest has working defaults (aggregation goes through the shared pure
    :func:`~tokenomy.ledger.aggregate_records`). Contract, pinned by the conformance suite:

    * adding a record whose ``record_id`` is already stored is a no-op (the first one wins),
      so retries never count a call twice;
    * :meth:`query` returns records oldest first (ties in the order they were added), or newest
      first; ``limit`` applies after ordering;
    * in-process readers see every record added before the read (stores that buffer writes
      flush first); :meth:`flush` blocks until everything added so far is stored;
    * a store is a context manager that closes itself; using it after :meth:`close` raises
      :class:`~tokenomy.exceptions.LedgerError`.
    """

    def add(self, record: CostRecord) -> None:
        """Store one record."""
        self.add_many((record,))

    @abstractmethod
    def add_many(self, records: Iterable[CostRecord]) -> None:
        """Store several records."""

    def _add_stored(self, stored: StoredCall) -> None:
        """Store one call in its compact form (the framework handlers' path).

        The default materializes the :class:`CostRecord` and calls :meth:`add`, so a custom
        store needs nothing else; the bundled stores keep the stored call as it is and materialize
        it when read (see ``tokenomy/ledger/_stored.py``).
        """
        self.add(stored.to_record())

    def flush(self) -> None:  # noqa: B027 - a deliberate no-op default for unbuffered stores
        """Block until every record added so far is durably stored (no-op when unbuffered)."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release resources; idempotent."""

    @abstractmethod
    def query(
        self,
        where: RecordFilter | None = None,
        *,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[CostRecord]:
        """The records matching ``where``, oldest first (or newest first), at most ``limit``."""

    @abstractmethod
    def count(self, where: RecordFilter | None = None) -> int:
        """How many records match ``where``."""

    @abstractmethod
    def mark_usable(self, record_id: str, usable: bool) -> bool:
        """Set a record's ``usable`` flag; returns False when no record has that id."""

    def aggregate(
        self, by: Sequence[str] = (), where: RecordFilter | None = None
    ) -> list[GroupTotals]:
        """Totals of the records matching ``where``, grouped by ``by`` (see aggregate_records).

        The bundled stores compute it where the data is (SQL, or the stored calls as they
        are); this default reads every record.
        """
        return aggregate_records(self.query(where), check_by(by))

    def aggregate_many(
        self, bys: Sequence[Sequence[str]], where: RecordFilter | None = None
    ) -> list[list[GroupTotals]]:
        """:meth:`aggregate` for each grouping of ``bys`` (the SQL stores answer all of them
        from one query)."""
        return [self.aggregate(by, where) for by in bys]

    def aggregate_report(
        self, bys: Sequence[Sequence[str]], where: RecordFilter | None = None
    ) -> tuple[list[list[GroupTotals]], AttemptTotals]:
        """:meth:`aggregate_many` and :meth:`attempt_totals` together (the SQL stores read the
        records once for both)."""
        return self.aggregate_many(bys, where), self.attempt_totals(where)

    def attempt_totals(self, where: RecordFilter | None = None) -> AttemptTotals:
        """The :class:`AttemptTotals` of the records matching ``where`` (this default: the
        totals of the first, the retried and the failed attempts, one aggregate each)."""
        return attempts_from(self.totals, where)

    def iter_records(
        self, where: RecordFilter | None = None, *, newest_first: bool = False
    ) -> Iterator[CostRecord]:
        """The records matching ``where`` one at a time, in :meth:`query` order (the SQL stores
        stream them in constant memory; this default is :meth:`query`)."""
        return iter(self.query(where, newest_first=newest_first))

    def most_expensive(self, n: int = 10, where: RecordFilter | None = None) -> list[CostRecord]:
        """The ``n`` records charged the most (the bill where the provider reported one, else
        the price-book cost; earlier first on ties)."""
        return top_costs(self.query(where), n)

    def run_page(
        self, where: RecordFilter | None = None, limit: int | None = None, *, total: int | None = None
    ) -> RunPage[CostRecord]:
        """How many root runs match, and the records (oldest first) of the ``limit`` latest
        (by start; ``None``: all). A run is the records sharing a root: ``root_run_id``, else
        ``run_id``, else the record's own id. ``total``, when the caller already knows it
        (an earlier page), spares the SQL stores counting the runs again."""
        return latest_runs(self.query(where), limit)

    # -- the records a report shows, as views (no pydantic on the SQL stores) ---------------

    def _most_expensive_views(
        self, n: int = 10, where: RecordFilter | None = None
    ) -> list[RecordView]:
        """:meth:`most_expensive` as :class:`RecordView` s (what a report prints; the SQL stores
        read their rows as views, this default views the records)."""
        from tokenomy.ledger._view import RecordView

        return [RecordView.of(r) for r in self.most_expensive(n, where)]

    def _run_page_views(
        self, where: RecordFilter | None = None, limit: int | None = None, *, total: int | None = None
    ) -> RunPage[RecordView]:
        """:meth:`run_page` with its records as :class:`RecordView` s."""
        from tokenomy.ledger._view import RecordView

        page = self.run_page(where, limit, total=total)
        return RunPage(page.total, [RecordView.of(r) for r in page.records])

    def _query_views(
        self, where: RecordFilter | None = None, *, limit: int | None = None, newest_first: bool = False
    ) -> list[RecordView]:
        """:meth:`query` as :class:`RecordView` s."""
        from tokenomy.ledger._view import RecordView

        return [
            RecordView.of(r) for r in self.query(where, limit=limit, newest_first=newest_first)
        ]

    def _iter_views(
        self, where: RecordFilter | None = None, *, newest_first: bool = False
    ) -> Iterator[RecordView]:
        """:meth:`iter_records` as :class:`RecordView` s."""
        from tokenomy.ledger._view import RecordView

        return map(RecordView.of, self.iter_records(where, newest_first=newest_first))

    def unpriced_models(self, where: RecordFilter | None = None) -> dict[str, int]:
        """Models of the unpriced records matching ``where``, with their record counts."""
        counts: dict[str, int] = {}
        for g in self.aggregate(("model",), where):
            if g.unpriced and g.key["model"] is not None:
                counts[g.key["model"]] = g.unpriced
        return counts

    def totals(self, where: RecordFilter | None = None) -> GroupTotals:
        """Totals of every record matching ``where`` (a zero group when none match)."""
        groups = self.aggregate((), where)
        return groups[0] if groups else GroupTotals(key={})

    def __len__(self) -> int:
        return self.count()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
