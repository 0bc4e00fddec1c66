"""A shared ledger for many hosts: :class:`PostgresLedger` (psycopg 3, imported lazily)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import ConfigurationError, LedgerError, MissingDependencyError
from tokenomy.ledger._batched import BatchedStore
from tokenomy.ledger._filter import RecordFilter
from tokenomy.ledger._postgres_schema import (
    PG_AGGREGATE_VERSION,
    PG_ROLLUP_VERSION,
    PG_SCHEMA_VERSION,
    PG_TAGSET_VERSION,
    PG_USED_VERSION,
    PgTagsets,
    migrate_postgres,
    read_version,
    redact,
)
from tokenomy.ledger._rollup import fill_sql
from tokenomy.ledger._rows import (
    BOOL_COLUMNS,
    ROW_COLUMNS,
    TAGSET_INDEX,
    read_columns,
    row_to_record,
    row_to_view,
    to_row,
)
from tokenomy.ledger._sql_filter import postgres_tags, where_clause
from tokenomy.ledger._sql_report import SqlAggregator, SqlDialect, tagset_filter
from tokenomy.ledger._sql_store import AggregatedInSql
from tokenomy.ledger._store import AnyRecord, check_limit
from tokenomy.ledger._used import UsedColumns
from tokenomy.ledger._writer import BatchWriter, check_batching, register_for_exit

if TYPE_CHECKING:
    import psycopg

    from tokenomy.ledger._record import CostRecord
    from tokenomy.ledger._stored import StoredCall
    from tokenomy.ledger._view import RecordView

__all__ = ["PostgresLedger"]


def _import_psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        raise MissingDependencyError("psycopg", "postgres", "PostgresLedger") from exc
    return psycopg


class _Connection:
    """One psycopg connection (autocommit), reopened if the server dropped it; used under a lock.

    ``session`` statements run on every new connection (the read connection turns JIT off,
    whose compile time outweighs a report's queries, and gives hash aggregation room).
    """

    def __init__(
        self, url: str, connect_timeout: float, where: str, session: tuple[str, ...] = ()
    ) -> None:
        self._session = session
        self._url = url
        self._timeout = connect_timeout
        self._where = where
        self.lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None

    def get(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            psycopg = _import_psycopg()
            try:
                conn = psycopg.connect(
                    self._url, autocommit=True, connect_timeout=max(1, int(self._timeout))
                )
            except psycopg.Error as exc:
                raise LedgerError(
                    f"cannot connect to the PostgreSQL ledger {self._where}: {exc}. Check the "
                    f"server is running and the URL (TOKENOMY_LEDGER or --ledger)"
                ) from exc
            for statement in self._session:
                conn.execute(statement)
            self._conn = conn
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_STREAM_BATCH = 2_000
# One round trip each.
_READ_SESSION = ("SELECT set_config('jit', 'off', false), set_config('work_mem', '64MB', false)",)
# For the report's GROUP BY only: read the covering aggregation index (a parallel index-only
# scan) rather than the wide table, and add up in a hash table (its groups are few: the
# planner, unaware that model, provider and kind follow the tag set, expects many and sorts).
_GROUP_SETTINGS = (
    "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_sort', 'off', true), "
    "set_config('parallel_setup_cost', '0', true), set_config('parallel_tuple_cost', '0', true)",
)


_RUN_KEY = ROW_COLUMNS.index("run_key")


def _write(
    conn: _Connection,
    insert: Any,
    tagsets: PgTagsets,
    records: Sequence[CostRecord | StoredCall],
    insert_runs: str,
    used: UsedColumns,
    insert_used: str,
    fill_rollup: str,
    count_runs: str,
) -> None:
    """Insert ``records`` in one transaction (the writer's sink; also used by sync mode), their
    runs into the runs table (read back from the records: a duplicate record ignored adds no
    run of its own; the runs inserted are counted), the sparse columns they fill into the used table (``_used.py``) and the
    records inserted (``RETURNING``: not the duplicates ignored) into the monthly rollup
    (``_rollup.py``)."""
    rows = [to_row(r) for r in records]
    names = used.new(rows)
    with conn.lock:
        c = conn.get()
        with c.transaction(), c.cursor() as cur:
            resolved, new = tagsets.resolve(cur, rows, TAGSET_INDEX)
            inserted: list[str] = []
            if resolved:
                cur.executemany(insert, resolved, returning=True)
                while True:
                    inserted += [r[0] for r in cur.fetchall()]
                    if not cur.nextset():
                        break
            if inserted:
                cur.execute(fill_rollup, [inserted])
            cur.execute(insert_runs, [list(dict.fromkeys(r[_RUN_KEY] for r in rows))])
            if cur.rowcount > 0:
                cur.execute(count_runs, [cur.rowcount])
            if names:
                cur.execute(insert_used, [names])
        tagsets.learn(new)
        used.learn(names)


def _shutdown(writer: BatchWriter | None, *conns: _Connection) -> None:
    try:
        if writer is not None:
            writer.stop()
    finally:
        for conn in conns:
            conn.close()


class PostgresLedger(AggregatedInSql, BatchedStore):
    """Records in a PostgreSQL table (money as ``NUMERIC``, tags as ``JSONB``).

    ``schema`` (created if missing) and ``table`` name where the records go; ``schema=None``
    uses the connection's ``search_path``. Writes are batched like :class:`SQLiteLedger`'s: a
    background thread inserts queued records with one ``executemany`` per transaction, and
    :meth:`flush` (called by :meth:`query`, :meth:`count`, :meth:`close` and at exit) waits for
    them; ``sync=True`` commits inside :meth:`add` instead. Two connections are used, one for
    writing and one for reading, each behind a lock, reopened if the server drops them.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        table: str = "tokenomy_records",
        sync: bool = False,
        batch_size: int = 2_000,
        flush_interval: float = 0.5,
        connect_timeout: float = 10.0,
        read_only: bool = False,
    ) -> None:
        if not table or not isinstance(table, str):
            raise ConfigurationError(f"PostgresLedger needs a table name, got {table!r}")
        check_batching(batch_size, flush_interval)
        psycopg = _import_psycopg()
        from psycopg import sql

        self.url = url
        self.schema = schema or None
        self.table = table
        self.sync = bool(sync)
        self._where = f"{redact(url)} ({self.schema + '.' if self.schema else ''}{table})"
        self._label = self._where
        self.read_only = bool(read_only)
        self._wconn = _Connection(url, connect_timeout, self._where)
        self._rconn = _Connection(url, connect_timeout, self._where, _READ_SESSION)
        try:
            with self._wconn.lock:
                if self.read_only:  # the read connection looks: one connection in all
                    with self._rconn.lock:
                        self.schema_version = read_version(
                            self._rconn.get(), self.schema, table, self._where
                        )
                else:
                    migrate_postgres(self._wconn.get(), self.schema, table, self._where)
                    self.schema_version = PG_SCHEMA_VERSION
        except psycopg.Error as exc:
            self._wconn.close()
            self._rconn.close()
            raise LedgerError(f"cannot prepare the PostgreSQL ledger {self._where}: {exc}") from exc
        except BaseException:
            self._wconn.close()
            self._rconn.close()
            raise

        def qualified(name: str) -> Any:
            return sql.Identifier(self.schema, name) if self.schema else sql.Identifier(name)

        ident = qualified(table)
        self._ident = ident
        # the record columns of the ledger's schema version (a later column reads as NULL)
        cols = sql.SQL(", ").join(
            sql.Identifier(c) if present else sql.SQL("NULL AS {}").format(sql.Identifier(c))
            for c, present in read_columns(self.schema_version or PG_SCHEMA_VERSION)
        )
        row_cols = sql.SQL(", ").join(sql.Identifier(c) for c in ROW_COLUMNS)
        values = sql.SQL(", ").join(
            sql.SQL("%s::int::boolean" if c in BOOL_COLUMNS else "%s") for c in ROW_COLUMNS
        )
        self._insert = sql.SQL(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (record_id) DO NOTHING RETURNING record_id"
        ).format(ident, row_cols, values)
        self._select = sql.SQL("SELECT {} FROM {}").format(cols, ident)

        # plain strings of the names, for the report queries (psycopg quotes them)
        def text(part: Any) -> str:
            return str(part.as_string(None))

        self._dialect = SqlDialect(
            ph="%s",
            table=text(ident),
            items=text(qualified(f"{table}_tag_items")),
            order="seq",
            pg=True,
            runs=text(qualified(f"{table}_runs")),
            used=text(qualified(f"{table}_used")) if self.schema_version >= PG_USED_VERSION else "",
            rollup=(
                text(qualified(f"{table}_rollup"))
                if self.schema_version >= PG_ROLLUP_VERSION
                else ""
            ),
            run_count=(
                text(qualified(f"{table}_counts"))
                if self.schema_version >= PG_ROLLUP_VERSION
                else ""
            ),
        )
        self._count_runs = f"UPDATE {text(qualified(f'{table}_counts'))} SET runs = runs + %s"
        self._fill_rollup = fill_sql(
            self._dialect.table,
            text(qualified(f"{table}_rollup")),
            "WHERE record_id = ANY(%s)",
            pg=True,
        )
        self._used = UsedColumns()
        self._insert_used = (
            f"INSERT INTO {text(qualified(f'{table}_used'))} (name) SELECT unnest(%s::text[]) "
            "ON CONFLICT DO NOTHING"
        )
        self._insert_runs = (
            f"INSERT INTO {self._dialect.runs} (run_key) SELECT DISTINCT run_key FROM "
            f"{self._dialect.table} WHERE run_key = ANY(%s) ON CONFLICT DO NOTHING"
        )
        self._select_text = text(self._select)
        self._tags_sql = tagset_filter(self._dialect)
        self._tagsets = PgTagsets(text(qualified(f"{table}_tagsets")), self._dialect.items)
        self._closed = False
        self._writer: BatchWriter | None = None
        if self.read_only:
            self.sync = True
        elif not self.sync:
            self._writer = BatchWriter(
                partial(
                    _write,
                    self._wconn,
                    self._insert,
                    self._tagsets,
                    insert_runs=self._insert_runs,
                    used=self._used,
                    insert_used=self._insert_used,
                    fill_rollup=self._fill_rollup,
                    count_runs=self._count_runs,
                ),
                batch_size=batch_size,
                flush_interval=flush_interval,
                name=f"tokenomy-ledger-writer[postgres:{table}]",
            )
        self._finalizer = weakref.finalize(self, _shutdown, self._writer, self._wconn, self._rconn)
        self._finalizer.atexit = False
        register_for_exit(self)

    # -- writing ----------------------------------------------------------------------------

    def _commit(self, records: Sequence[CostRecord | StoredCall]) -> None:
        if self.read_only:
            raise LedgerError(f"the ledger {self._where} was opened read-only; nothing is written")
        psycopg = _import_psycopg()
        try:
            _write(
                self._wconn,
                self._insert,
                self._tagsets,
                records,
                self._insert_runs,
                self._used,
                self._insert_used,
                self._fill_rollup,
                self._count_runs,
            )
        except psycopg.Error as exc:
            raise LedgerError(f"could not write to the ledger {self._where}: {exc}") from exc

    # -- reading ----------------------------------------------------------------------------

    def _execute(self, statement: Any, params: list[Any], *, fetch: bool = True) -> Any:
        self._check_open()
        self.flush()
        if self.read_only and self.schema_version == 0:
            return [] if fetch else 0
        psycopg = _import_psycopg()
        try:
            with self._rconn.lock:
                cur = self._rconn.get().execute(statement, params)
                return cur.fetchall() if fetch else cur.rowcount
        except psycopg.Error as exc:
            raise LedgerError(f"could not read the ledger {self._where}: {exc}") from exc

    def _query_rows(
        self, where: RecordFilter | None, limit: int | None, newest_first: bool
    ) -> list[Any]:
        check_limit(limit)
        statement, params = self._ordered(where, newest_first)
        if limit is not None:
            statement += " LIMIT %s"
            params.append(limit)
        rows: list[Any] = self._execute(statement, params)
        return rows

    def count(self, where: RecordFilter | None = None) -> int:
        """How many records match ``where`` (after a flush)."""
        from psycopg import sql

        clause, params = self._clause(where)
        statement = sql.SQL("SELECT COUNT(*) FROM {}").format(self._ident) + sql.SQL(clause)
        rows = self._execute(statement, params)
        return int(rows[0][0]) if rows else 0

    def _clause(self, where: RecordFilter | None) -> tuple[str, list[Any]]:
        tags = self._tags_sql if self.schema_version >= PG_TAGSET_VERSION else postgres_tags
        return where_clause(where, ph="%s", tags_sql=tags)

    # -- aggregation in SQL -----------------------------------------------------------------

    @property
    def _fast(self) -> bool:
        return self.schema_version >= PG_AGGREGATE_VERSION

    def _agg(self) -> SqlAggregator:
        return SqlAggregator(
            self._dialect,
            select=self._select_text,
            fetch=lambda sql, params: self._execute(sql, params),
            records=lambda sql, params: [row_to_record(r) for r in self._execute(sql, params)],
            stream=self._stream,
            fetch_groups=self._fetch_groups,
            views=lambda sql, params: [row_to_view(r) for r in self._execute(sql, params)],
            view_stream=self._stream_views,
        )

    def _fetch_groups(self, statement: str, params: list[Any]) -> list[Any]:
        self._check_open()
        self.flush()
        psycopg = _import_psycopg()
        try:
            with self._rconn.lock:
                c = self._rconn.get()
                with c.transaction():
                    for setting in _GROUP_SETTINGS:
                        c.execute(setting)
                    rows: list[Any] = c.execute(statement, params).fetchall()
                    return rows
        except psycopg.Error as exc:
            raise LedgerError(f"could not read the ledger {self._where}: {exc}") from exc

    def iter_records(
        self, where: RecordFilter | None = None, *, newest_first: bool = False
    ) -> Iterator[CostRecord]:
        """Matching records streamed through a server-side cursor (constant memory)."""
        return self._stream(*self._ordered(where, newest_first))

    def _iter_views(
        self, where: RecordFilter | None = None, *, newest_first: bool = False
    ) -> Iterator[RecordView]:
        return self._stream_views(*self._ordered(where, newest_first))

    def _ordered(self, where: RecordFilter | None, newest_first: bool) -> tuple[str, list[Any]]:
        clause, params = self._clause(where)
        order = " ORDER BY ts_us DESC, seq DESC" if newest_first else " ORDER BY ts_us, seq"
        return self._select_text + clause + order, params

    def _stream(self, statement: Any, params: list[Any]) -> Iterator[CostRecord]:
        return self._stream_of(statement, params, row_to_record)

    def _stream_views(self, statement: Any, params: list[Any]) -> Iterator[RecordView]:
        return self._stream_of(statement, params, row_to_view)

    def _stream_of(
        self, statement: Any, params: list[Any], read: Callable[[Any], AnyRecord]
    ) -> Iterator[AnyRecord]:
        self._check_open()
        self.flush()
        if self.read_only and self.schema_version == 0:
            return
        psycopg = _import_psycopg()
        conn = _Connection(self.url, 10.0, self._where)
        try:
            c = conn.get()
            with c.transaction(), c.cursor(name="tokenomy_stream") as cur:
                cur.itersize = _STREAM_BATCH
                cur.execute(statement, params)
                for row in cur:
                    yield read(row)
        except psycopg.Error as exc:
            raise LedgerError(f"could not read the ledger {self._where}: {exc}") from exc
        finally:
            conn.close()

    def mark_usable(self, record_id: str, usable: bool) -> bool:
        """Set ``usable`` on a stored record (after a flush); False when the id is unknown."""
        from psycopg import sql

        if self.read_only:
            raise LedgerError(f"the ledger {self._where} was opened read-only; nothing is written")
        statement = sql.SQL("UPDATE {} SET usable = %s WHERE record_id = %s").format(self._ident)
        return int(self._execute(statement, [bool(usable), record_id], fetch=False)) > 0
