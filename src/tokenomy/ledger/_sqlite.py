"""The embedded default ledger: :class:`SQLiteLedger`, one SQLite file in WAL mode."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from tokenomy.exceptions import ConfigurationError, LedgerError, LedgerFileError
from tokenomy.ledger._batched import BatchedStore
from tokenomy.ledger._filter import RecordFilter
from tokenomy.ledger._record import CostRecord
from tokenomy.ledger._rows import COLUMNS, row_to_record, to_row
from tokenomy.ledger._sql_filter import sqlite_tags, where_clause
from tokenomy.ledger._sqlite_schema import TABLE, connect, migrate, probe
from tokenomy.ledger._store import check_limit
from tokenomy.ledger._stored import StoredCall
from tokenomy.ledger._writer import BatchWriter, check_batching, register_for_exit

__all__ = ["SQLiteLedger"]

_COLS = ", ".join(COLUMNS)
_INSERT = f"INSERT OR IGNORE INTO {TABLE} ({_COLS}) VALUES ({', '.join('?' * len(COLUMNS))})"
_SELECT = f"SELECT {_COLS} FROM {TABLE}"


def _write(conn: sqlite3.Connection, records: Sequence[CostRecord | StoredCall]) -> None:
    """Insert ``records`` in one ``BEGIN IMMEDIATE`` transaction (the writer's sink)."""
    rows = [to_row(r) for r in records]
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


class SQLiteLedger(BatchedStore):
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
        self._label = repr(str(self.path))
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

    def _commit(self, records: Sequence[CostRecord | StoredCall]) -> None:
        try:
            with self._wlock:
                _write(self._wconn, records)
        except sqlite3.Error as exc:
            raise LedgerError(f"could not write to the ledger {self.path}: {exc}") from exc

    # -- reading ----------------------------------------------------------------------------

    def _read(self, sql: str, params: list[Any]) -> list[Any]:
        self._check_open()
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
        self._check_open()
        self.flush()
        try:
            with self._rlock:
                cur = self._rconn.execute(
                    f"UPDATE {TABLE} SET usable = ? WHERE record_id = ?", (bool(usable), record_id)
                )
                return cur.rowcount > 0
        except sqlite3.Error as exc:
            raise LedgerError(f"could not update the ledger {self.path}: {exc}") from exc
