"""The SQLite ledger file: how it is recognised, created and migrated.

A tokenomy ledger is a SQLite database whose header carries ``PRAGMA application_id`` =
:data:`APPLICATION_ID` and whose ``PRAGMA user_version`` is the number of the last migration
applied. :data:`MIGRATIONS` is an ordered list of ``(version, SQL)`` steps; opening a file
applies the missing ones, in order, inside one ``BEGIN IMMEDIATE`` transaction (so two
processes opening a new file at once migrate it once).

Anything that is not a tokenomy ledger (random bytes, another application's database, a schema
newer than this code) raises :class:`~tokenomy.exceptions.LedgerFileError` before a single
byte of the file is written.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tokenomy.exceptions import LedgerFileError
from tokenomy.ledger._columns import migration_steps

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TABLE",
    "connect",
    "migrate",
    "probe",
]

#: ``PRAGMA application_id`` of every tokenomy ledger: the ASCII bytes ``"TKNM"``.
APPLICATION_ID = 0x544B4E4D
TABLE = "cost_records"

_V1 = f"""
CREATE TABLE {TABLE} (
    record_id TEXT PRIMARY KEY NOT NULL,
    ts_us INTEGER NOT NULL,              -- UTC microseconds since 1970 (naive = UTC)
    timestamp TEXT NOT NULL,             -- ISO 8601, as recorded
    run_id TEXT,
    parent_run_id TEXT,
    root_run_id TEXT,
    provider TEXT,
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_5m_tokens INTEGER NOT NULL,
    cache_write_1h_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    usage_estimated INTEGER NOT NULL,
    cost_total TEXT,                     -- exact decimal USD; NULL when unpriced
    cost_parts TEXT,                     -- JSON {{dimension: decimal string}}
    price_model TEXT,
    priced INTEGER NOT NULL,
    estimated INTEGER NOT NULL,
    latency_ms REAL,
    ttft_ms REAL,
    streamed INTEGER NOT NULL,
    tags TEXT NOT NULL,                  -- JSON {{key: value}}
    cache_outcome TEXT NOT NULL,
    cache_saved TEXT,
    cache_similarity REAL,
    attempt INTEGER NOT NULL,
    error TEXT,
    usable INTEGER,
    service_tier TEXT,
    name TEXT,
    framework TEXT
);
CREATE INDEX {TABLE}_ts ON {TABLE} (ts_us);
CREATE INDEX {TABLE}_model ON {TABLE} (model, ts_us);
CREATE INDEX {TABLE}_root_run ON {TABLE} (root_run_id)
"""

#: Ordered ``(version, SQL)`` steps; never edit a released step, append a new one.
#: Steps after the first come from ``ledger/_columns.py``.
MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1), *migration_steps("sqlite", TABLE))
SCHEMA_VERSION = MIGRATIONS[-1][0]

_MAGIC = b"SQLite format 3\x00"


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (semicolons inside quotes/comments are kept)."""
    out: list[str] = []
    buf = ""
    for piece in sql.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if _has_code(buf):
                out.append(buf.strip())
            buf = ""
    if _has_code(buf):
        out.append(buf.strip())
    return out


def _has_code(text: str) -> bool:
    return any(line.split("--", 1)[0].strip(" \t;") for line in text.splitlines())


def _check_marker(path: Path, app_id: int, tables: list[str], version: int) -> bool:
    """True when the database is ours, False when it is empty; raises when it is foreign."""
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise LedgerFileError(
                str(path),
                f"its schema version is {version} but this tokenomy knows versions up to "
                f"{SCHEMA_VERSION}; it was written by a newer tokenomy, so upgrade tokenomy "
                f"to read it",
            )
        return True
    if app_id != 0:
        raise LedgerFileError(
            str(path),
            f"it is the SQLite database of another application (application_id {app_id:#010x}; "
            f"tokenomy ledgers have {APPLICATION_ID:#010x})",
        )
    if tables:
        shown = ", ".join(sorted(tables)[:5])
        raise LedgerFileError(
            str(path),
            f"it is a SQLite database without the tokenomy marker (application_id 0) that "
            f"already holds {len(tables)} table(s): {shown}",
        )
    return False


def probe(path: Path) -> None:
    """Raise LedgerFileError unless ``path`` is absent, empty, or a tokenomy ledger we can read.

    Only reads: the header bytes, then (if needed) a read-only connection.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    except OSError as exc:
        raise LedgerFileError(str(path), f"it cannot be read ({exc})") from exc
    if path.is_dir():
        raise LedgerFileError(str(path), "it is a directory")
    if size == 0:
        return
    try:
        with path.open("rb") as f:
            header = f.read(100)
    except OSError as exc:
        raise LedgerFileError(str(path), f"it cannot be read ({exc})") from exc
    if len(header) < 100 or not header.startswith(_MAGIC):
        raise LedgerFileError(
            str(path), f"it is not a SQLite database (it starts with {header[:16]!r})"
        )
    header_app = int.from_bytes(header[68:72], "big")
    if header_app not in (0, APPLICATION_ID):
        _check_marker(path, header_app, [], 0)
    # The header may lag behind the write-ahead log: look through SQLite, read-only. Without
    # a -wal file there is nothing to replay, so open it immutable (creates no -shm/-wal).
    wal = path.with_name(path.name + "-wal").exists()
    uri = path.resolve().as_uri() + ("?mode=ro" if wal else "?mode=ro&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise LedgerFileError(str(path), f"SQLite cannot open it ({exc})") from exc
    try:
        app_id, version, tables = _read_marker(conn)
    except sqlite3.DatabaseError as exc:
        raise LedgerFileError(str(path), f"it is corrupt: SQLite says {exc}") from exc
    finally:
        conn.close()
    _check_marker(path, app_id, tables, version)


def _read_marker(conn: sqlite3.Connection) -> tuple[int, int, list[str]]:
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    tables = [
        str(r[0])
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return app_id, version, tables


def connect(path: Path, *, busy_timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable from any thread."""
    return sqlite3.connect(
        str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`, then switch it to WAL; returns the old version.

    The marker is re-checked inside the write transaction, so a file that changed since
    :func:`probe` is still refused (and rolled back untouched).
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            app_id, version, tables = _read_marker(conn)
            ours = _check_marker(path, app_id, tables, version)
            if not ours:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                version = 0
            for step, sql in MIGRATIONS:
                if step > version:
                    for statement in _statements(sql):
                        conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as exc:
        raise LedgerFileError(str(path), f"SQLite cannot use it ({exc})") from exc
    return version
