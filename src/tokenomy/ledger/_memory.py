"""A thread-safe in-process ledger: :class:`MemoryLedger`."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from tokenomy.exceptions import ConfigurationError, LedgerError, TokenomyWarning
from tokenomy.ledger._aggregate import GroupTotals, aggregate_stored
from tokenomy.ledger._filter import RecordFilter, epoch_us
from tokenomy.ledger._record import CostRecord
from tokenomy.ledger._store import LedgerStore, RunPage, check_limit, latest_runs, top_costs
from tokenomy.ledger._stored import StoredCall, run_id_text

__all__ = ["MemoryLedger", "MemoryLedgerFullWarning"]


def _root(x: Any) -> str:
    if type(x) is StoredCall:
        return run_id_text(x.root_run_id) or run_id_text(x.run_id) or x.record_id
    return x.root_run_id or x.run_id or x.record_id  # type: ignore[no-any-return]


class MemoryLedgerFullWarning(TokenomyWarning):
    """A bounded MemoryLedger started dropping its oldest records."""


class MemoryLedger(LedgerStore):
    """Records kept in a list for the life of the process (tests, notebooks, the default).

    Every method takes one lock, so any number of threads may add and read concurrently.
    ``max_records`` bounds memory: past it the oldest tenth is dropped (with one
    :class:`MemoryLedgerFullWarning`); ``None`` keeps everything.

    Calls recorded by the framework handlers are kept in their compact stored form and become
    :class:`CostRecord` objects the first time they are read.
    """

    def __init__(self, records: Iterable[CostRecord] = (), *, max_records: int | None = None) -> None:
        if max_records is not None and (
            isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1
        ):
            raise ConfigurationError(f"max_records must be None or an int >= 1, got {max_records!r}")
        self.max_records = max_records
        self.dropped = 0
        self._lock = threading.Lock()
        # CostRecords, or StoredCalls not read yet (replaced by their record when read).
        # Recording appends without the lock (list.append is atomic); everything else holds it.
        self._items: list[Any] = []
        self._keys: list[int] = []  # epoch microseconds of _items[:len(_keys)]
        self._index: dict[str, int] = {}  # record_id -> position, for _items[:_indexed]
        self._indexed = 0
        self._in_order = True  # _items[:len(_keys)] already sorted by time (the usual case)
        self._closed = False
        self.add_many(records)

    def _check_open(self) -> None:
        if self._closed:
            raise LedgerError("this MemoryLedger is closed; create a new one")

    def add(self, record: CostRecord) -> None:
        """Store one record (ignored if its ``record_id`` is already stored)."""
        if not isinstance(record, CostRecord):
            raise TypeError(f"MemoryLedger.add() takes a CostRecord, got {type(record).__name__}")
        with self._lock:
            self._check_open()
            self._append(record)

    #: A subclass that overrides add() sees every call there, materialized.
    _overrides_add = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._overrides_add = cls.add is not MemoryLedger.add

    def _add_stored(self, stored: StoredCall) -> None:
        if self._overrides_add:
            self.add(stored.to_record())
            return
        if self._closed:
            self._check_open()
        # A freshly recorded call: its id is new, so no duplicate check, and no lock.
        items = self._items
        items.append(stored)
        if self.max_records is not None and len(items) > self.max_records:
            with self._lock:
                if len(self._items) > self.max_records:
                    self._evict()

    def _catch_up(self) -> None:
        """Extend the sort keys over items added since (hold the lock)."""
        items, keys = self._items, self._keys
        last = keys[-1] if keys else None
        for i in range(len(keys), len(items)):
            item = items[i]
            key = item.ts_us if type(item) is StoredCall else epoch_us(item.timestamp)
            if last is not None and key < last:
                self._in_order = False
            keys.append(key)
            last = key

    def _catch_up_index(self) -> None:
        items, index = self._items, self._index
        for i in range(self._indexed, len(items)):
            item = items[i]
            index[item.record_id] = i
        self._indexed = len(items)

    def _append(self, record: CostRecord) -> None:
        self._catch_up_index()
        rid = record.record_id
        if rid in self._index:
            return
        self._index[rid] = len(self._items)
        self._items.append(record)
        self._indexed += 1
        if self.max_records is not None and len(self._items) > self.max_records:
            self._evict()

    def _evict(self) -> None:
        # Drop the oldest tenth at once, so re-indexing is amortised over many adds.
        assert self.max_records is not None
        n = max(1, self.max_records // 10)
        self._catch_up()
        items, keys = self._items[: len(self._keys)], self._keys
        if not self._in_order:
            order = sorted(range(len(keys)), key=keys.__getitem__)
            items = [items[i] for i in order]
            keys = [keys[i] for i in order]
        # items recorded (without the lock) after _catch_up stay at the end
        self._items[: len(keys)] = items[n:]
        self._keys = keys[n:]
        self._in_order = True
        self._index = {}
        self._indexed = 0
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
            batch.append(r)
        with self._lock:
            self._check_open()
            for r in batch:
                self._append(r)

    def _records(self) -> list[CostRecord]:
        """Every record in add order, materializing the stored calls (hold the lock)."""
        self._catch_up()
        items = self._items
        for i in range(len(self._keys)):
            item = items[i]
            if type(item) is StoredCall:
                items[i] = item.to_record()
        return items[: len(self._keys)]

    def _ordered(self) -> list[CostRecord]:
        records = self._records()
        if self._in_order:
            return records
        keys = self._keys
        order = sorted(range(len(keys)), key=keys.__getitem__)  # stable: ties keep add order
        return [records[i] for i in order]

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
                return len(self._items)
        return len(self._matching(where))

    # -- aggregation over the calls as stored (no record built) ------------------------------

    def _matching(self, where: RecordFilter | None) -> list[Any]:
        """Stored calls and records matching ``where``, oldest first (no record built)."""
        with self._lock:
            self._check_open()
            self._catch_up()
            items = self._items[: len(self._keys)]
            if not self._in_order:
                keys = self._keys
                items = [items[i] for i in sorted(range(len(keys)), key=keys.__getitem__)]
        if where is None:
            return items
        return [
            x for x in items if (where.matches_stored(x) if type(x) is StoredCall else where.matches(x))
        ]

    def _materialize(self, items: Iterable[Any]) -> list[CostRecord]:
        return [x.to_record() if type(x) is StoredCall else x for x in items]

    def aggregate(
        self, by: Sequence[str] = (), where: RecordFilter | None = None
    ) -> list[GroupTotals]:
        """Totals per group, over the calls as they are stored (no record is built)."""
        return aggregate_stored(self._matching(where), by)

    def most_expensive(self, n: int = 10, where: RecordFilter | None = None) -> list[CostRecord]:
        """The ``n`` records charged the most (the bill where there is one, else the price-book
        cost; only those are built)."""
        items = self._matching(where)
        costs = [
            (
                (x.billed_usd if x.billed_usd is not None else x.cost_total)
                if type(x) is StoredCall
                else x.charged_usd,
                i,
            )
            for i, x in enumerate(items)
        ]
        ranked = sorted(((c, i) for c, i in costs if c is not None), key=lambda t: (-t[0], t[1]))
        return top_costs(self._materialize(items[i] for _, i in ranked[: max(n, 0)]), n)

    def run_page(
        self, where: RecordFilter | None = None, limit: int | None = None, *, total: int | None = None
    ) -> RunPage[CostRecord]:
        """The runs count and the records of the latest ``limit`` runs (only those are built)."""
        items = self._matching(where)
        start: dict[str, int] = {}
        roots = []
        for x in items:
            root = _root(x)
            roots.append(root)
            start.setdefault(root, x.ts_us if type(x) is StoredCall else epoch_us(x.timestamp))
        shown = sorted(start, key=start.__getitem__)
        if limit is not None:
            shown = shown[-limit:] if limit > 0 else []
        keep = set(shown)
        page = latest_runs(
            self._materialize(x for x, root in zip(items, roots, strict=True) if root in keep),
            None,
        )
        return RunPage(len(start), page.records)

    def unpriced_models(self, where: RecordFilter | None = None) -> dict[str, int]:
        """Models of the unpriced calls with their counts (no record built)."""
        counts: dict[str, int] = {}
        for x in self._matching(where):
            unpriced = x.cost_total is None if type(x) is StoredCall else x.cost is None
            if unpriced:
                counts[x.model] = counts.get(x.model, 0) + 1
        return counts

    def mark_usable(self, record_id: str, usable: bool) -> bool:
        """Set ``usable`` on the stored record; False when the id is unknown."""
        with self._lock:
            self._check_open()
            self._catch_up_index()
            i = self._index.get(record_id)
            if i is None:
                return False
            item = self._items[i]
            if type(item) is StoredCall:
                item = item.to_record()
            self._items[i] = item.model_copy(update={"usable": bool(usable)})
            return True

    def close(self) -> None:
        """Drop the records; further use raises :class:`~tokenomy.exceptions.LedgerError`."""
        with self._lock:
            self._closed = True
            self._items.clear()
            self._keys.clear()
            self._index.clear()
            self._indexed = 0

    def __repr__(self) -> str:
        return f"MemoryLedger({len(self._items)} records)"
