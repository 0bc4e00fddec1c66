"""What the SQL stores share: queued or synchronous writes, flush, close, closed checks.

:class:`BatchedStore` is the front half of :class:`SQLiteLedger` and :class:`PostgresLedger`:
``add`` queues records for the background :class:`BatchWriter` (or, with ``sync=True``,
commits them before returning); ``flush`` waits for the writer; ``close`` stops it and
releases the connections. Subclasses set ``_label``, ``_writer`` and ``_finalizer`` in their
constructor and implement ``_commit`` (and the SQL of their reads).
"""

from __future__ import annotations

import weakref
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import LedgerError
from tokenomy.ledger._store import LedgerStore
from tokenomy.ledger._writer import BatchWriter, unregister

if TYPE_CHECKING:  # imported when a record is added: a store opened to be read needs no pydantic
    from tokenomy.ledger._record import CostRecord
    from tokenomy.ledger._stored import StoredCall

__all__ = ["BatchedStore"]


class BatchedStore(LedgerStore):
    """A store whose writes go through a :class:`BatchWriter` unless ``sync`` is true."""

    sync: bool
    _label: str  # how messages name the store (a path, or a redacted URL and table)
    _writer: BatchWriter | None
    _finalizer: weakref.finalize[..., Any]
    _closed: bool = False

    @abstractmethod
    def _commit(self, records: Sequence[CostRecord | StoredCall]) -> None:
        """Write ``records`` in one transaction (the writer's sink, and sync mode's path);
        they may be stored calls too (:func:`~tokenomy.ledger._rows.to_row` takes both)."""

    def _check_open(self) -> None:
        if self._closed:
            raise LedgerError(
                f"the ledger {self._label} is closed; open a new {type(self).__name__}"
            )

    def add(self, record: CostRecord) -> None:
        """Queue one record (or, with ``sync=True``, commit it before returning)."""
        from tokenomy.ledger._record import CostRecord

        self._check_open()
        if type(record) is not CostRecord and not isinstance(record, CostRecord):
            raise TypeError(
                f"{type(self).__name__}.add() takes a CostRecord, got {type(record).__name__}"
            )
        writer = self._writer
        if writer is not None:
            writer.put(record)
        else:
            self._commit([record])

    #: A subclass that overrides add() sees every call there, materialized.
    _overrides_add = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._overrides_add = cls.add is not BatchedStore.add

    def _add_stored(self, stored: StoredCall) -> None:
        # The framework handlers' path: the writer thread turns it into a row.
        if self._overrides_add:
            self.add(stored.to_record())
            return
        self._check_open()
        writer = self._writer
        if writer is not None:
            writer.put(stored)
        else:
            self._commit([stored])

    def add_many(self, records: Iterable[CostRecord]) -> None:
        """Queue several records (with ``sync=True``: commit them in one transaction)."""
        from tokenomy.ledger._record import CostRecord

        self._check_open()
        batch = list(records)
        for r in batch:
            if not isinstance(r, CostRecord):
                raise TypeError(
                    f"{type(self).__name__}.add_many() takes CostRecords, got {type(r).__name__}"
                )
        if self._writer is not None:
            self._writer.put_many(batch)
        elif batch:
            self._commit(batch)

    def flush(self) -> None:
        """Block until every record added so far is committed."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush queued records, stop the writer thread, close the connections (idempotent)."""
        if self._closed:
            return
        self._closed = True
        unregister(self)
        self._finalizer()  # runs the subclass's shutdown: writer.stop(), then the connections

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("sync" if self.sync else "batched")
        return f"{type(self).__name__}({self._label}, {state})"
