"""The one extension point every ledger implements: :class:`LedgerStore`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self

from tokenomy.exceptions import ConfigurationError
from tokenomy.ledger._aggregate import GroupTotals, aggregate_records

if TYPE_CHECKING:
    from tokenomy.ledger._filter import RecordFilter
    from tokenomy.ledger._record import CostRecord
    from tokenomy.ledger._stored import StoredCall

__all__ = ["LedgerStore", "check_limit"]


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
        """Totals of the records matching ``where``, grouped by ``by`` (see aggregate_records)."""
        if isinstance(by, str):
            by = (by,)
        return aggregate_records(self.query(where), by)

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
