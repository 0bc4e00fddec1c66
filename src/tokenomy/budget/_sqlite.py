"""``SQLiteBudgetStore``: budgets shared by the processes of one machine, in one SQLite file.

Each reserve and settle is one ``BEGIN IMMEDIATE`` transaction (SQLite's write lock, taken
before reading, so two processes never both see the same room left). The file runs in WAL
mode; each thread of each process has its own connection. Tables are prefixed
``tokenomy_budget_`` and created by numbered migrations, so the file may also hold a ledger.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tokenomy.budget._store import (
    BudgetStore,
    CounterRow,
    Line,
    Refusal,
    Reservation,
    Settled,
    now,
    reserve_in,
    settle_in,
)
from tokenomy.exceptions import BudgetStoreError

__all__ = ["SQLiteBudgetStore"]

#: Numbered schema steps; the file records how many ran (``tokenomy_budget_schema``).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE tokenomy_budget_def (name TEXT PRIMARY KEY, definition TEXT NOT NULL);
    CREATE TABLE tokenomy_budget_counter (
        key TEXT PRIMARY KEY, budget TEXT NOT NULL, scope TEXT NOT NULL, bucket TEXT NOT NULL,
        spent INTEGER NOT NULL DEFAULT 0, tokens INTEGER NOT NULL DEFAULT 0,
        alerted INTEGER NOT NULL DEFAULT 0, expire_at REAL NOT NULL);
    CREATE TABLE tokenomy_budget_hold (
        key TEXT NOT NULL, rid TEXT NOT NULL, nanos INTEGER NOT NULL, tokens INTEGER NOT NULL,
        until REAL NOT NULL, PRIMARY KEY (key, rid));
    CREATE INDEX tokenomy_budget_hold_until ON tokenomy_budget_hold (until);
    """,
)


class _SQLiteTx:
    __slots__ = ("conn", "now")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.now = now()

    def totals(self, key: str) -> tuple[int, int, int, int]:
        c = self.conn
        c.execute("DELETE FROM tokenomy_budget_hold WHERE key = ? AND until <= ?", (key, self.now))
        row = c.execute(
            "SELECT spent, tokens FROM tokenomy_budget_counter WHERE key = ? AND expire_at > ?",
            (key, self.now),
        ).fetchone()
        held = c.execute(
            "SELECT COALESCE(SUM(nanos), 0), COALESCE(SUM(tokens), 0) FROM tokenomy_budget_hold "
            "WHERE key = ?",
            (key,),
        ).fetchone()
        spent, tokens = row if row else (0, 0)
        return (spent, held[0], tokens, held[1])

    def _ensure(self, line: Line, bucket: str) -> str:
        key = line.key(bucket)
        self.conn.execute(
            "INSERT INTO tokenomy_budget_counter (key, budget, scope, bucket, expire_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "expire_at = MAX(expire_at, excluded.expire_at)",
            (key, line.budget, line.scope, bucket, line.expire_at),
        )
        return key

    def hold(
        self, line: Line, bucket: str, rid: str, nanos: int, tokens: int, until: float
    ) -> None:
        key = self._ensure(line, bucket)
        self.conn.execute(
            "INSERT OR REPLACE INTO tokenomy_budget_hold VALUES (?, ?, ?, ?, ?)",
            (key, rid, nanos, tokens, until),
        )

    def take(self, key: str, rid: str) -> tuple[int, int] | None:
        row = self.conn.execute(
            "DELETE FROM tokenomy_budget_hold WHERE key = ? AND rid = ? RETURNING nanos, tokens",
            (key, rid),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def spend(self, line: Line, bucket: str, nanos: int, tokens: int) -> tuple[int, int, int]:
        key = self._ensure(line, bucket)
        row = self.conn.execute(
            "UPDATE tokenomy_budget_counter SET spent = spent + ?, tokens = tokens + ? "
            "WHERE key = ? RETURNING spent, tokens, alerted",
            (nanos, tokens, key),
        ).fetchone()
        return row[0], row[1], row[2]

    def set_alerted(self, key: str, mask: int) -> None:
        self.conn.execute(
            "UPDATE tokenomy_budget_counter SET alerted = ? WHERE key = ?", (mask, key)
        )


class SQLiteBudgetStore(BudgetStore):
    """Budget counters in a SQLite file, shared by every process that opens it.

    ``path``: the file (created with its directory when missing). ``timeout``: how long a
    call waits for another process's transaction (seconds) before the store reports itself
    unavailable. ``read_only``: open an existing file for reading (``budget status``):
    nothing is created or migrated, and reserve/settle are refused.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, read_only: bool = False
    ) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.timeout = timeout
        self.read_only = read_only
        self._local = threading.local()
        self._migrated = False
        self._init_lock = threading.Lock()

    # -- connections ---------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        try:
            if self.read_only:
                if not self.path.is_file():
                    raise BudgetStoreError(self.url, "there is no such file")
                conn = sqlite3.connect(
                    f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=self.timeout,
                    isolation_level=None, check_same_thread=False,
                )
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise BudgetStoreError(self.url, f"{type(exc).__name__}: {exc}") from exc
        self._local.conn = conn
        self._local.pid = os.getpid()
        if not self._migrated and not self.read_only:
            with self._init_lock:
                if not self._migrated:
                    self._migrate(conn)
                    self._migrated = True
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        def step() -> None:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS tokenomy_budget_schema (version INTEGER NOT NULL)"
            )
            row = conn.execute("SELECT MAX(version) FROM tokenomy_budget_schema").fetchone()
            done = row[0] or 0
            if done > len(MIGRATIONS):
                raise BudgetStoreError(
                    self.url,
                    f"its budget tables are schema v{done}, newer than this tokenomy "
                    f"(v{len(MIGRATIONS)}); upgrade tokenomy",
                )
            for version, sql in enumerate(MIGRATIONS[done:], start=done + 1):
                for statement in sql.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO tokenomy_budget_schema VALUES (?)", (version,))

        self._write(step, conn)

    def _write(self, fn: Any, conn: sqlite3.Connection | None = None) -> Any:
        if self.read_only:
            raise BudgetStoreError(self.url, "it was opened read-only")
        conn = conn or self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn()
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result
        except sqlite3.Error as exc:
            raise BudgetStoreError(self.url, f"{type(exc).__name__}: {exc}") from exc

    # -- the store -----------------------------------------------------------------------

    def reserve(
        self,
        rid: str,
        lines: Sequence[Line],
        *,
        fixed_nanos: int,
        rate_pico: int,
        fixed_tokens: int,
        min_out: int,
        max_out: int,
        ttl: float,
    ) -> Reservation | Refusal:
        conn = self._conn()
        return self._write(  # type: ignore[no-any-return]
            lambda: reserve_in(
                _SQLiteTx(conn),
                rid,
                lines,
                fixed_nanos=fixed_nanos,
                rate_pico=rate_pico,
                fixed_tokens=fixed_tokens,
                min_out=min_out,
                max_out=max_out,
                ttl=ttl,
            ),
            conn,
        )

    def settle(self, reservation: Reservation, *, nanos: int, tokens: int) -> Settled:
        conn = self._conn()
        return self._write(  # type: ignore[no-any-return]
            lambda: settle_in(_SQLiteTx(conn), reservation, nanos=nanos, tokens=tokens), conn
        )

    def define(self, name: str, definition: dict[str, Any]) -> None:
        conn = self._conn()
        text = json.dumps(definition, sort_keys=True)
        self._write(
            lambda: conn.execute(
                "INSERT OR REPLACE INTO tokenomy_budget_def VALUES (?, ?)", (name, text)
            ),
            conn,
        )

    def definitions(self) -> dict[str, dict[str, Any]]:
        rows = self._read("SELECT name, definition FROM tokenomy_budget_def ORDER BY name")
        return {name: json.loads(text) for name, text in rows}

    def counters(self) -> list[CounterRow]:
        t = now()
        rows = self._read(
            "SELECT c.budget, c.scope, c.bucket, c.spent, "
            "COALESCE(SUM(h.nanos), 0), c.tokens, COALESCE(SUM(h.tokens), 0), COUNT(h.rid) "
            "FROM tokenomy_budget_counter c LEFT JOIN tokenomy_budget_hold h "
            "ON h.key = c.key AND h.until > ? WHERE c.expire_at > ? OR h.rid IS NOT NULL "
            "GROUP BY c.key ORDER BY c.budget, c.scope, c.bucket",
            (t, t),
        )
        return [CounterRow(*row) for row in rows]

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn().execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if self.read_only and "no such table" in str(exc):
                return []  # a file without budget tables holds no budgets
            raise BudgetStoreError(self.url, f"{type(exc).__name__}: {exc}") from exc
        except sqlite3.Error as exc:
            raise BudgetStoreError(self.url, f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
