"""The embedded default ledger: :class:`SQLiteLedger`, one SQLite file in WAL mode."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import ConfigurationError, LedgerError, LedgerFileError
from tokenomy.ledger._batched import BatchedStore
from tokenomy.ledger._filter import RecordFilter
from tokenomy.ledger._rollup import fill_sql
from tokenomy.ledger._rows import (
    ROW_COLUMNS,
    TAGSET_INDEX,
    read_columns,
    row_to_record,
    row_to_view,
    to_row,
)
from tokenomy.ledger._sql_filter import sqlite_tags, where_clause
from tokenomy.ledger._sql_report import (
    MoneyOverflowError,
    SqlAggregator,
    SqlDialect,
    tagset_filter,
)
from tokenomy.ledger._sql_store import AggregatedInSql
from tokenomy.ledger._sqlite_schema import (
    AGGREGATE_VERSION,
    COUNTS,
    ROLLUP,
    ROLLUP_VERSION,
    RUNS,
    SCHEMA_VERSION,
    TABLE,
    TAG_ITEMS,
    TAGSET_VERSION,
    USED,
    USED_VERSION,
    TagsetCache,
    connect,
    migrate,
    open_read_only,
    probe,
    read_only_uri,
)
from tokenomy.ledger._store import AnyRecord, check_limit
from tokenomy.ledger._used import UsedColumns
from tokenomy.ledger._writer import BatchWriter, check_batching, register_for_exit

if TYPE_CHECKING:
    from tokenomy.ledger._record import CostRecord
    from tokenomy.ledger._stored import StoredCall
    from tokenomy.ledger._view import RecordView

__all__ = ["SQLiteLedger"]

_INSERT = (
    f"INSERT OR IGNORE INTO {TABLE} ({', '.join(ROW_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ROW_COLUMNS))})"
)


def _select(version: int) -> str:
    # the record columns of a ledger at schema ``version`` (a later column reads as NULL)
    cols = ", ".join(c if present else f"NULL AS {c}" for c, present in read_columns(version))
    return f"SELECT {cols} FROM {TABLE}"


_DIALECT = SqlDialect(
    ph="?",
    table=TABLE,
    items=TAG_ITEMS,
    order="rowid",
    runs=RUNS,
    billed_source=f"{TABLE} INDEXED BY {TABLE}_billed",
    used=USED,
    rollup=ROLLUP,
    run_count=COUNTS,
)
_RUN_KEY = ROW_COLUMNS.index("run_key")
# the run of each inserted record (read back from the table: a record ignored as a duplicate
# adds no run of its own)
_INSERT_RUN = (
    f"INSERT OR IGNORE INTO {RUNS} (run_key) SELECT run_key FROM {TABLE} WHERE run_key = ? LIMIT 1"
)
# the records the batch inserted (rowid above the largest before it: rows are never deleted
# below it while the write transaction holds the lock) added to the monthly rollup (v7)
_FILL_ROLLUP = fill_sql(TABLE, ROLLUP, "WHERE rowid > ?", pg=False)
_V6_DIALECT = replace(_DIALECT, rollup="", run_count="")  # a ledger at v6, read as it is
_OLD_DIALECT = replace(_V6_DIALECT, used="")  # a ledger before v6, read as it is
_INSERT_USED = f"INSERT OR IGNORE INTO {USED} (name) VALUES (?)"
_COUNT_RUNS = f"UPDATE {COUNTS} SET runs = runs + ?"
_TAGS_SQL = tagset_filter(_DIALECT)
_STREAM_BATCH = 2_000


def _write(
    conn: sqlite3.Connection,
    tagsets: TagsetCache,
    used: UsedColumns,
    records: Sequence[CostRecord | StoredCall],
) -> None:
    """Insert ``records`` in one ``BEGIN IMMEDIATE`` transaction (the writer's sink), with
    their runs, the sparse columns they fill (``ledger/_used.py``) and their monthly rollup
    (``ledger/_rollup.py``: only the rows inserted, a duplicate ignored adds nothing)."""
    rows = [to_row(r) for r in records]
    names = used.new(rows)
    conn.execute("BEGIN IMMEDIATE")
    try:
        resolved, new = tagsets.resolve(conn, rows, TAGSET_INDEX)
        last = conn.execute(f"SELECT MAX(rowid) FROM {TABLE}").fetchone()[0]
        conn.executemany(_INSERT, resolved)
        conn.execute(_FILL_ROLLUP, (-1 if last is None else last,))
        runs = conn.executemany(
            _INSERT_RUN, [(k,) for k in dict.fromkeys(r[_RUN_KEY] for r in rows)]
        ).rowcount
        if runs > 0:
            conn.execute(_COUNT_RUNS, (runs,))
        conn.executemany(_INSERT_USED, [(n,) for n in names])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    tagsets.learn(new)
    used.learn(names)


def _shutdown(writer: BatchWriter | None, *conns: sqlite3.Connection) -> None:
    """Finalizer of a store collected without close(): flush, stop the thread, close."""
    try:
        if writer is not None:
            writer.stop()
    finally:
        for conn in conns:
            conn.close()


class SQLiteLedger(AggregatedInSql, BatchedStore):
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
        read_only: bool = False,
    ) -> None:
        if str(path) in ("", ":memory:"):
            raise ConfigurationError(
                f"SQLiteLedger needs a file path, got {str(path)!r}; use MemoryLedger() for an "
                f"in-memory ledger"
            )
        check_batching(batch_size, flush_interval)
        self.path = Path(path).expanduser()
        self.sync = bool(sync)
        self.read_only = bool(read_only)
        self._tagsets = TagsetCache()
        self._used = UsedColumns()
        if self.read_only:
            self._open_read_only(busy_timeout)
            return
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
            self.schema_version = SCHEMA_VERSION
            self._select = _select(SCHEMA_VERSION)
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
        self._wconn: sqlite3.Connection | None = wconn
        self._rconn: sqlite3.Connection | None = rconn
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()
        self._closed = False
        self._writer: BatchWriter | None = None
        self._busy_timeout = busy_timeout
        if not self.sync:
            self._writer = BatchWriter(
                partial(_write, wconn, self._tagsets, self._used),
                batch_size=batch_size,
                flush_interval=flush_interval,
                name=f"tokenomy-ledger-writer[{self.path.name}]",
            )
        self._finalizer = weakref.finalize(self, _shutdown, self._writer, wconn, rconn)
        self._finalizer.atexit = False  # the exit hook closes live stores itself
        register_for_exit(self)

    def _open_read_only(self, busy_timeout: float) -> None:
        """Open without creating, migrating or writing anything (``read_only=True``).

        A missing or empty file reads as an empty ledger; a ledger of an older schema is
        read as it is (aggregated in Python: open it for writing once to migrate it).
        """
        conn, version = open_read_only(self.path, busy_timeout=busy_timeout)
        self.schema_version = version
        self._select = _select(version)
        self._label = repr(str(self.path))
        self._wconn = None
        self._rconn = conn
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()
        self._closed = False
        self._writer = None
        self._busy_timeout = busy_timeout
        self._finalizer = weakref.finalize(self, _shutdown, None, *([conn] if conn else []))
        self._finalizer.atexit = False

    @property
    def _fast(self) -> bool:
        return self._rconn is not None and self.schema_version >= AGGREGATE_VERSION

    def _agg(self) -> SqlAggregator:
        if self.schema_version >= ROLLUP_VERSION:
            dialect = _DIALECT
        else:
            dialect = _V6_DIALECT if self.schema_version >= USED_VERSION else _OLD_DIALECT
        return SqlAggregator(
            dialect,
            select=self._select,
            fetch=self._fetch_sums,
            records=lambda sql, params: [row_to_record(r) for r in self._read(sql, params)],
            stream=self._stream,
            views=lambda sql, params: [row_to_view(r) for r in self._read(sql, params)],
            view_stream=self._stream_views,
        )

    def _fetch_sums(self, sql: str, params: list[Any]) -> list[Any]:
        try:
            return self._read(sql, params)
        except LedgerError as exc:
            if "integer overflow" in str(exc):
                raise MoneyOverflowError(str(exc)) from exc
            raise

    # -- writing ----------------------------------------------------------------------------

    def _commit(self, records: Sequence[CostRecord | StoredCall]) -> None:
        if self._wconn is None:
            raise LedgerError(f"the ledger {self.path} was opened read-only; nothing is written")
        try:
            with self._wlock:
                _write(self._wconn, self._tagsets, self._used, records)
        except sqlite3.Error as exc:
            raise LedgerError(f"could not write to the ledger {self.path}: {exc}") from exc

    # -- reading ----------------------------------------------------------------------------

    def _read(self, sql: str, params: list[Any]) -> list[Any]:
        self._check_open()
        self.flush()
        if self._rconn is None:
            return []
        try:
            with self._rlock:
                return self._rconn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise LedgerError(f"could not read the ledger {self.path}: {exc}") from exc

    def _query_rows(
        self, where: RecordFilter | None, limit: int | None, newest_first: bool
    ) -> list[Any]:
        check_limit(limit)
        sql, params = self._ordered(where, newest_first)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self._read(sql, params)

    def count(self, where: RecordFilter | None = None) -> int:
        """How many records match ``where`` (after a flush)."""
        clause, params = self._clause(where)
        rows = self._read(f"SELECT COUNT(*) FROM {TABLE}" + clause, params)
        return int(rows[0][0]) if rows else 0

    def _clause(self, where: RecordFilter | None) -> tuple[str, list[Any]]:
        tags = _TAGS_SQL if self.schema_version >= TAGSET_VERSION else sqlite_tags
        return where_clause(where, ph="?", tags_sql=tags)

    # -- aggregation in SQL -----------------------------------------------------------------

    def iter_records(
        self, where: RecordFilter | None = None, *, newest_first: bool = False
    ) -> Iterator[CostRecord]:
        """Matching records streamed in batches from their own connection (constant memory)."""
        return self._stream(*self._ordered(where, newest_first))

    def _iter_views(
        self, where: RecordFilter | None = None, *, newest_first: bool = False
    ) -> Iterator[RecordView]:
        return self._stream_views(*self._ordered(where, newest_first))

    def _ordered(self, where: RecordFilter | None, newest_first: bool) -> tuple[str, list[Any]]:
        clause, params = self._clause(where)
        order = " ORDER BY ts_us DESC, rowid DESC" if newest_first else " ORDER BY ts_us, rowid"
        return self._select + clause + order, params

    def _stream(self, sql: str, params: list[Any]) -> Iterator[CostRecord]:
        return self._stream_of(sql, params, row_to_record)

    def _stream_views(self, sql: str, params: list[Any]) -> Iterator[RecordView]:
        return self._stream_of(sql, params, row_to_view)

    def _stream_of(
        self, sql: str, params: list[Any], read: Callable[[Any], AnyRecord]
    ) -> Iterator[AnyRecord]:
        self._check_open()
        self.flush()
        if self._rconn is None:
            return
        uri = self.path.resolve().as_uri() + "?mode=ro"
        if self.read_only:
            uri = read_only_uri(self.path)
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=self._busy_timeout)
        except sqlite3.Error as exc:
            raise LedgerError(f"could not read the ledger {self.path}: {exc}") from exc
        try:
            cur = conn.execute(sql, params)
            while True:
                rows = cur.fetchmany(_STREAM_BATCH)
                if not rows:
                    return
                for row in rows:
                    yield read(row)
        except sqlite3.Error as exc:
            raise LedgerError(f"could not read the ledger {self.path}: {exc}") from exc
        finally:
            conn.close()

    def mark_usable(self, record_id: str, usable: bool) -> bool:
        """Set ``usable`` on a stored record (after a flush); False when the id is unknown."""
        self._check_open()
        self.flush()
        if self._wconn is None or self._rconn is None:
            raise LedgerError(f"the ledger {self.path} was opened read-only; nothing is written")
        try:
            with self._rlock:
                cur = self._rconn.execute(
                    f"UPDATE {TABLE} SET usable = ? WHERE record_id = ?", (bool(usable), record_id)
                )
                return cur.rowcount > 0
        except sqlite3.Error as exc:
            raise LedgerError(f"could not update the ledger {self.path}: {exc}") from exc
