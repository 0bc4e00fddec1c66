"""The embedded default ledger: :class:`SQLiteLedger`, one SQLite file in WAL mode."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from tokenomy.exceptions import ConfigurationError, LedgerError, LedgerFileError
from tokenomy.ledger._filter import RecordFilter
from tokenomy.ledger._record import CostRecord
from tokenomy.ledger._rows import COLUMNS, record_to_row, row_to_record
from tokenomy.ledger._sql_filter import sqlite_tags, where_clause
from tokenomy.ledger._sqlite_schema import TABLE, connect, migrate, probe
from tokenomy.ledger._store import LedgerStore, check_limit
from tokenomy.ledger._writer import BatchWriter, check_batching, register_for_exit, unregister

__all__ = ["SQLiteLedger"]

_COLS = ", ".join(COLUMNS)
_INSERT = f"INSERT OR IGNORE INTO {TABLE} ({_COLS}) VALUES ({', '.join('?' * len(COLUMNS))})"
_SELECT = f"SELECT {_COLS} FROM {TABLE}"


def _write(conn: sqlite3.Connection, records: list[CostRecord]) -> None:
    """Insert ``records`` in one ``BEGIN IMMEDIATE`` transaction (the writer's sink)."""
    rows = [record_to_row(r) for r in records]
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(_INSERT, rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _shutdown(writer: BatchWriter | None, *conns: sqlite3.Connection) -> None:
    """Finalizer of a store collected without close(): flush, stop the thread, close."""
    try:
        if writer is not None:
            writer.stop()
    finally:
        for conn in conns:
            conn.close()


class SQLiteLedger(LedgerStore):
    """Records in a SQLite file (created on first use), shared safely by threads and processes.

    * Default mode: :meth:`add` only queues the record; a background thread commits queued
      records in batches (one ``executemany`` transaction per batch) as soon as ``batch_size``
      are waiting or every ``flush_interval`` seconds. :meth:`flush` blocks until all of them
      are committed; :meth:`query`, :meth:`count` and :meth:`close` flush first, and so does
      interpreter exit. Records still queued when the process is killed are lost.
    * ``sync=True``: :meth:`add` commits before it returns with ``PRAGMA synchronous=FULL``, so
      nothing is lost on a crash (much slower: one fsync per call).

    Several processes may write the same file; they wait for each other up to
    ``busy_timeout`` seconds. A file that is not a tokenomy ledger raises
    :class:`~tokenomy.exceptions.LedgerFileError` and is never modified.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sync: bool = False,
        batch_size: int = 2_000,
        flush_interval: float = 0.5,
        busy_timeout: float = 30.0,
    ) -> None:
        if str(path) in ("", ":memory:"):
            raise ConfigurationError(
                f"SQLiteLedger needs a file path, got {str(path)!r}; use MemoryLedger() for an "
                f"in-memory ledger"
            )
        check_batching(batch_size, flush_interval)
        self.path = Path(path).expanduser()
        self.sync = bool(sync)
        probe(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerFileError(str(self.path), f"its folder cannot be created ({exc})") from exc
        conns: list[sqlite3.Connection] = []
        try:
            wconn = connect(self.path, busy_timeout=busy_timeout)
            conns.append(wconn)
            migrate(wconn, self.path)
            rconn = connect(self.path, busy_timeout=busy_timeout)
            conns.append(rconn)
            level = "FULL" if self.sync else "NORMAL"
            for conn in conns:
                conn.execute(f"PRAGMA synchronous = {level}")
        except BaseException as exc:
            for conn in conns:
                conn.close()
            if isinstance(exc, sqlite3.Error):
                raise LedgerFileError(str(self.path), f"SQLite cannot open it ({exc})") from exc
            raise
        self._wconn, self._rconn = wconn, rconn
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()
        self._closed = False
        self._writer: BatchWriter | None = None
        if not self.sync:
            self._writer = BatchWriter(
                partial(_write, wconn),
                batch_size=batch_size,
                flush_interval=flush_interval,
                name=f"tokenomy-ledger-writer[{self.path.name}]",
            )
        self._finalizer = weakref.finalize(self, _shutdown, self._writer, wconn, rconn)
        self._finalizer.atexit = False  # the exit hook closes live stores itself
        register_for_exit(self)

    # -- writing ----------------------------------------------------------------------------

    def add(self, record: CostRecord) -> None:
        """Queue one record (or, with ``sync=True``, commit it before returning)."""
        if self._closed:
            raise LedgerError(f"the ledger {self.path} is closed; open a new SQLiteLedger")
        if type(record) is not CostRecord and not isinstance(record, CostRecord):
            raise TypeError(f"SQLiteLedger.add() takes a CostRecord, got {type(record).__name__}")
        writer = self._writer
        if writer is not None:
            writer.put(record)
        else:
            self._commit([record])

    def add_many(self, records: Iterable[CostRecord]) -> None:
        """Queue several records (with ``sync=True``: commit them in one transaction)."""
        if self._closed:
            raise LedgerError(f"the ledger {self.path} is closed; open a new SQLiteLedger")
        batch = list(records)
        for r in batch:
            if not isinstance(r, CostRecord):
                raise TypeError(
                    f"SQLiteLedger.add_many() takes CostRecords, got {type(r).__name__}"
                )
        if self._writer is not None:
            self._writer.put_many(batch)
        elif batch:
            self._commit(batch)

    def _commit(self, records: list[CostRecord]) -> None:
        try:
            with self._wlock:
                _write(self._wconn, records)
        except sqlite3.Error as exc:
            raise LedgerError(f"could not write to the ledger {self.path}: {exc}") from exc

    def flush(self) -> None:
        """Block until every record added so far is committed to the file."""
        if self._writer is not None:
            self._writer.flush()

    # -- reading ----------------------------------------------------------------------------

    def _read(self, sql: str, params: list[Any]) -> list[Any]:
        if self._closed:
            raise LedgerError(f"the ledger {self.path} is closed; open a new SQLiteLedger")
        self.flush()
        try:
            with self._rlock:
                return self._rconn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise LedgerError(f"could not read the ledger {self.path}: {exc}") from exc

    def query(
        self,
        where: RecordFilter | None = None,
        *,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[CostRecord]:
        """Matching records, oldest first (ties in commit order) or newest first."""
        check_limit(limit)
        clause, params = where_clause(where, ph="?", tags_sql=sqlite_tags)
        order = " ORDER BY ts_us DESC, rowid DESC" if newest_first else " ORDER BY ts_us, rowid"
        sql = _SELECT + clause + order
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [row_to_record(row) for row in self._read(sql, params)]

    def count(self, where: RecordFilter | None = None) -> int:
        """How many records match ``where`` (after a flush)."""
        clause, params = where_clause(where, ph="?", tags_sql=sqlite_tags)
        return int(self._read(f"SELECT COUNT(*) FROM {TABLE}" + clause, params)[0][0])

    def mark_usable(self, record_id: str, usable: bool) -> bool:
        """Set ``usable`` on a stored record (after a flush); False when the id is unknown."""
        if self._closed:
            raise LedgerError(f"the ledger {self.path} is closed; open a new SQLiteLedger")
        self.flush()
        try:
            with self._rlock:
                cur = self._rconn.execute(
                    f"UPDATE {TABLE} SET usable = ? WHERE record_id = ?", (bool(usable), record_id)
                )
                return cur.rowcount > 0
        except sqlite3.Error as exc:
            raise LedgerError(f"could not update the ledger {self.path}: {exc}") from exc

    # -- life cycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Flush queued records, stop the writer thread, close the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        unregister(self)
        self._finalizer.detach()
        _shutdown(self._writer, self._wconn, self._rconn)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("sync" if self.sync else "batched")
        return f"SQLiteLedger({str(self.path)!r}, {state})"
