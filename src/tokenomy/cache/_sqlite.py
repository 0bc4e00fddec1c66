"""``SQLiteCacheBackend``: entries in a SQLite file, shared by the processes of one machine.

Tables (created when missing): ``tokenomy_cache_entries`` (namespace, key, scope, the entry
as JSON, the vector as a float32 BLOB, expiry, last use; primary key (namespace, key)),
``tokenomy_cache_log`` (the change log the processes' indexes follow) and
``tokenomy_cache_meta`` (the entry count the size limit reads). WAL mode; one connection per
thread; every write is one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tokenomy.cache._backend import check_max
from tokenomy.cache._entry import CacheEntry
from tokenomy.cache._index import ScopeIndexes
from tokenomy.cache._synced import Change, SyncedBackend

__all__ = ["SQLiteCacheBackend"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokenomy_cache_entries (
    namespace TEXT NOT NULL, key TEXT NOT NULL, scope TEXT NOT NULL, body TEXT NOT NULL,
    vector BLOB, expires REAL, used REAL NOT NULL, PRIMARY KEY (namespace, key));
CREATE INDEX IF NOT EXISTS tokenomy_cache_entries_used ON tokenomy_cache_entries (used);
CREATE TABLE IF NOT EXISTS tokenomy_cache_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT NOT NULL, namespace TEXT NOT NULL,
    key TEXT NOT NULL, scope TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokenomy_cache_meta (id INTEGER PRIMARY KEY, entries INTEGER NOT NULL);
INSERT OR IGNORE INTO tokenomy_cache_meta (id, entries) VALUES (1, 0);
"""


class SQLiteCacheBackend(SyncedBackend):
    """Entries in the SQLite file ``path`` (module docstring). ``max_entries`` bounds the file
    (LRU); ``log_keep`` change-log rows are kept (a process further behind rebuilds)."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_entries: int | None = 100_000,
        log_keep: int = 100_000,
        index: ScopeIndexes | None = None,
        sync_every: float = 0.0,
    ) -> None:
        super().__init__(index=index, sync_every=sync_every)
        self.path = str(path)
        self.max_entries = check_max(max_entries)
        self.log_keep = log_keep
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._conn().executescript(_SCHEMA)
        #: entries evicted by the size limit so far (by this process)
        self.evicted = 0

    def __repr__(self) -> str:
        return f"SQLiteCacheBackend({self.path!r}, max_entries={self.max_entries})"

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        self._local = threading.local()

    # -- the change log --------------------------------------------------------------------

    def _log_head(self) -> Any:
        row = self._conn().execute("SELECT COALESCE(MAX(seq), 0) FROM tokenomy_cache_log").fetchone()
        return int(row[0])

    def _all_vectors(self) -> Iterable[tuple[str, str, str, bytes]]:
        rows = self._conn().execute(
            "SELECT namespace, scope, key, vector FROM tokenomy_cache_entries "
            "WHERE vector IS NOT NULL"
        )
        for namespace, scope, key, vector in rows:
            yield namespace, scope, key, bytes(vector)

    def _changes(self, cursor: Any) -> tuple[Any, list[Change]] | None:
        conn = self._conn()
        first = conn.execute("SELECT MIN(seq) FROM tokenomy_cache_log").fetchone()[0]
        if first is not None and first > cursor + 1:
            return None  # trimmed past the cursor
        rows = conn.execute(
            "SELECT l.seq, l.op, l.namespace, l.key, l.scope, e.vector FROM tokenomy_cache_log l "
            "LEFT JOIN tokenomy_cache_entries e ON l.op = 'put' AND e.namespace = l.namespace "
            "AND e.key = l.key WHERE l.seq > ? ORDER BY l.seq",
            (cursor,),
        ).fetchall()
        if not rows:
            return cursor, []
        changes: list[Change] = [
            (op, ns, key, scope, None if v is None else bytes(v)) for _, op, ns, key, scope, v in rows
        ]
        return int(rows[-1][0]), changes

    # -- entries ---------------------------------------------------------------------------

    def get(self, namespace: str, key: str, *, now: float | None = None) -> CacheEntry | None:
        now = time.time() if now is None else now
        conn = self._conn()
        row = conn.execute(
            "SELECT body, vector, expires FROM tokenomy_cache_entries WHERE namespace = ? AND key = ?",
            (namespace, key),
        ).fetchone()
        if row is None:
            return None
        if row[2] is not None and now >= row[2]:
            self.delete(namespace, key)
            return None
        conn.execute(
            "UPDATE tokenomy_cache_entries SET used = ? WHERE namespace = ? AND key = ?",
            (time.time(), namespace, key),
        )
        entry = CacheEntry.from_json(row[0], None if row[1] is None else bytes(row[1]))
        return entry if entry.namespace == namespace else None

    def put(self, entry: CacheEntry) -> None:
        self.put_many([entry])

    def put_many(self, entries: Sequence[CacheEntry]) -> None:
        """Store several entries in one transaction."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            added = 0
            now = time.time()
            for e in entries:
                existed = conn.execute(
                    "SELECT 1 FROM tokenomy_cache_entries WHERE namespace = ? AND key = ?",
                    (e.namespace, e.key),
                ).fetchone()
                conn.execute(
                    "INSERT OR REPLACE INTO tokenomy_cache_entries "
                    "(namespace, key, scope, body, vector, expires, used) VALUES (?,?,?,?,?,?,?)",
                    (e.namespace, e.key, e.scope, e.to_json(), e.vector, e.expires, now),
                )
                conn.execute(
                    "INSERT INTO tokenomy_cache_log (op, namespace, key, scope) VALUES ('put',?,?,?)",
                    (e.namespace, e.key, e.scope),
                )
                added += existed is None
            total = int(
                conn.execute(
                    "UPDATE tokenomy_cache_meta SET entries = entries + ? WHERE id = 1 "
                    "RETURNING entries",
                    (added,),
                ).fetchone()[0]
            )
            evicted: list[tuple[str, str, str]] = []
            if self.max_entries is not None and total > self.max_entries:
                evicted = conn.execute(
                    "DELETE FROM tokenomy_cache_entries WHERE rowid IN (SELECT rowid FROM "
                    "tokenomy_cache_entries ORDER BY used LIMIT ?) RETURNING namespace, key, scope",
                    (total - self.max_entries,),
                ).fetchall()
                conn.executemany(
                    "INSERT INTO tokenomy_cache_log (op, namespace, key, scope) VALUES ('del',?,?,?)",
                    evicted,
                )
                conn.execute(
                    "UPDATE tokenomy_cache_meta SET entries = entries - ? WHERE id = 1",
                    (len(evicted),),
                )
            self._puts += 1
            if self._puts % 256 == 0:
                conn.execute(
                    "DELETE FROM tokenomy_cache_log WHERE seq <= (SELECT MAX(seq) FROM "
                    "tokenomy_cache_log) - ?",
                    (self.log_keep,),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.evicted += len(evicted)
        for ns, key, _ in evicted:
            self._index.remove(ns, key)
        for e in entries:
            if e.vector is not None:
                self._index.add(e.namespace, e.scope, e.key, e.vector)

    _puts = 0

    def delete(self, namespace: str, key: str) -> bool:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "DELETE FROM tokenomy_cache_entries WHERE namespace = ? AND key = ? RETURNING scope",
                (namespace, key),
            ).fetchone()
            if row is not None:
                conn.execute(
                    "INSERT INTO tokenomy_cache_log (op, namespace, key, scope) VALUES ('del',?,?,?)",
                    (namespace, key, row[0]),
                )
                conn.execute("UPDATE tokenomy_cache_meta SET entries = entries - 1 WHERE id = 1")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._index.remove(namespace, key)
        return row is not None

    def invalidate(self, namespace: str) -> int:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            n = conn.execute(
                "DELETE FROM tokenomy_cache_entries WHERE namespace = ?", (namespace,)
            ).rowcount
            conn.execute(
                "INSERT INTO tokenomy_cache_log (op, namespace, key, scope) VALUES ('ns',?,'','')",
                (namespace,),
            )
            conn.execute("UPDATE tokenomy_cache_meta SET entries = entries - ? WHERE id = 1", (n,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._index.drop_namespace(namespace)
        return int(n)

    def count(self, namespace: str | None = None) -> int:
        conn = self._conn()
        if namespace is None:
            return int(conn.execute("SELECT COUNT(*) FROM tokenomy_cache_entries").fetchone()[0])
        return int(
            conn.execute(
                "SELECT COUNT(*) FROM tokenomy_cache_entries WHERE namespace = ?", (namespace,)
            ).fetchone()[0]
        )
