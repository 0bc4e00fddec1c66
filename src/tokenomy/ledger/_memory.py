"""A thread-safe in-process ledger: :class:`MemoryLedger`."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable

from tokenomy.exceptions import ConfigurationError, LedgerError, TokenomyWarning
from tokenomy.ledger._filter import RecordFilter, epoch_us
from tokenomy.ledger._record import CostRecord
from tokenomy.ledger._store import LedgerStore, check_limit

__all__ = ["MemoryLedger", "MemoryLedgerFullWarning"]


class MemoryLedgerFullWarning(TokenomyWarning):
    """A bounded MemoryLedger started dropping its oldest records."""


class MemoryLedger(LedgerStore):
    """Records kept in a list for the life of the process (tests, notebooks, the default).

    Every method takes one lock, so any number of threads may add and read concurrently.
    ``max_records`` bounds memory: past it the oldest tenth is dropped (with one
    :class:`MemoryLedgerFullWarning`); ``None`` keeps everything.
    """

    def __init__(self, records: Iterable[CostRecord] = (), *, max_records: int | None = None) -> None:
        if max_records is not None and (
            isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1
        ):
            raise ConfigurationError(f"max_records must be None or an int >= 1, got {max_records!r}")
        self.max_records = max_records
        self.dropped = 0
        self._lock = threading.Lock()
        self._records: list[CostRecord] = []
        self._keys: list[int] = []  # epoch microseconds, parallel to _records
        self._index: dict[str, int] = {}
        self._in_order = True  # _records already sorted by time (the usual case)
        self._closed = False
        self.add_many(records)

    def _check_open(self) -> None:
        if self._closed:
            raise LedgerError("this MemoryLedger is closed; create a new one")

    def add(self, record: CostRecord) -> None:
        """Store one record (ignored if its ``record_id`` is already stored)."""
        if not isinstance(record, CostRecord):
            raise TypeError(f"MemoryLedger.add() takes a CostRecord, got {type(record).__name__}")
        ts = epoch_us(record.timestamp)
        with self._lock:
            self._check_open()
            self._append(record, ts)

    def _append(self, record: CostRecord, ts: int) -> None:
        rid = record.record_id
        if rid in self._index:
            return
        keys = self._keys
        if keys and ts < keys[-1]:
            self._in_order = False
        self._index[rid] = len(self._records)
        self._records.append(record)
        keys.append(ts)
        if self.max_records is not None and len(self._records) > self.max_records:
            self._evict()

    def _evict(self) -> None:
        # Drop the oldest tenth at once, so re-indexing is amortised over many adds.
        assert self.max_records is not None
        n = max(1, self.max_records // 10)
        if not self._in_order:
            order = sorted(range(len(self._keys)), key=self._keys.__getitem__)
            self._records = [self._records[i] for i in order]
            self._keys = [self._keys[i] for i in order]
            self._in_order = True
        del self._records[:n]
        del self._keys[:n]
        self._index = {r.record_id: i for i, r in enumerate(self._records)}
        if not self.dropped:
            warnings.warn(
                f"{self!r} holds at most {self.max_records} records and dropped its oldest "
                f"{n}; set TOKENOMY_LEDGER to a SQLite path (or pass a ledger) to keep them all",
                MemoryLedgerFullWarning,
                stacklevel=5,
            )
        self.dropped += n

    def add_many(self, records: Iterable[CostRecord]) -> None:
        """Store several records (each ignored if its ``record_id`` is already stored)."""
        batch = []
        for r in records:
            if not isinstance(r, CostRecord):
                raise TypeError(
                    f"MemoryLedger.add_many() takes CostRecords, got {type(r).__name__}"
                )
            batch.append((r, epoch_us(r.timestamp)))
        with self._lock:
            self._check_open()
            for r, ts in batch:
                self._append(r, ts)

    def _ordered(self) -> list[CostRecord]:
        if self._in_order:
            return list(self._records)
        keys = self._keys
        order = sorted(range(len(keys)), key=keys.__getitem__)  # stable: ties keep add order
        recs = self._records
        return [recs[i] for i in order]

    def query(
        self,
        where: RecordFilter | None = None,
        *,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[CostRecord]:
        """Matching records, oldest first (ties in add order) or newest first."""
        check_limit(limit)
        with self._lock:
            self._check_open()
            records = self._ordered()
        if where is not None:
            records = [r for r in records if where.matches(r)]
        if newest_first:
            records.reverse()
        return records if limit is None else records[:limit]

    def count(self, where: RecordFilter | None = None) -> int:
        """How many records match ``where``."""
        with self._lock:
            self._check_open()
            if where is None:
                return len(self._records)
            records = list(self._records)
        return sum(1 for r in records if where.matches(r))

    def mark_usable(self, record_id: str, usable: bool) -> bool:
        """Set ``usable`` on the stored record; False when the id is unknown."""
        with self._lock:
            self._check_open()
            i = self._index.get(record_id)
            if i is None:
                return False
            self._records[i] = self._records[i].model_copy(update={"usable": bool(usable)})
            return True

    def close(self) -> None:
        """Drop the records; further use raises :class:`~tokenomy.exceptions.LedgerError`."""
        with self._lock:
            self._closed = True
            self._records.clear()
            self._keys.clear()
            self._index.clear()

    def __repr__(self) -> str:
        return f"MemoryLedger({len(self._records)} records)"
