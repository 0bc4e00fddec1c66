"""The SQLite ledger file: how it is recognised, created and migrated.

A tokenomy ledger is a SQLite database whose header carries ``PRAGMA application_id`` =
:data:`APPLICATION_ID` and whose ``PRAGMA user_version`` is the number of the last migration
applied. :data:`MIGRATIONS` is an ordered list of ``(version, SQL)`` steps; opening a file
applies the missing ones, in order, inside one ``BEGIN IMMEDIATE`` transaction (so two
processes opening a new file at once migrate it once).

Version 3 adds the columns and side tables aggregation in SQL needs (``ledger/_columns.py``,
:data:`TAGSETS`, :data:`TAG_ITEMS`) and fills them for the rows already stored (a Python step:
:func:`backfill`), so a ledger written by an older tokenomy keeps every record and reports
fast. :func:`open_read_only` opens a ledger for reading without creating or migrating
anything (the command line's reads).

Anything that is not a tokenomy ledger (random bytes, another application's database, a schema
newer than this code) raises :class:`~tokenomy.exceptions.LedgerFileError` before a single
byte of the file is written.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tokenomy.exceptions import LedgerFileError
from tokenomy.ledger._columns import derived_until, migration_steps
from tokenomy.ledger._rollup import create_sql, fill_sql

__all__ = [
    "APPLICATION_ID",
    "COUNTS",
    "MIGRATIONS",
    "ROLLUP",
    "RUNS",
    "SCHEMA_VERSION",
    "TABLE",
    "TAGSETS",
    "TAG_ITEMS",
    "TagsetCache",
    "backfill",
    "connect",
    "migrate",
    "open_read_only",
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

TAGSETS = "cost_tagsets"
#: The aggregation index: every column the report's GROUP BY reads, led by the columns of
#: ``ledger/_sql_report.py``'s inner cube (tag set, model, provider, kind, latency bucket), so
#: a report scans this narrow index in group order (no sort, no row lookups) instead of the
#: wide table.
AGG_INDEX: tuple[str, ...] = (
    "tagset", "model", "provider", "kind", "lat_bucket", "ts_us", "cost_p", "cost_input_p",
    "cost_cache_read_p", "cost_cache_write_5m_p", "cost_cache_write_1h_p", "cost_output_p",
    "cost_reasoning_p", "cost_request_p", "saved_p", "money_inexact", "estimated",
    "usage_estimated", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens", "cache_outcome",
    "truncated",
)  # fmt: skip
TAG_ITEMS = "cost_tag_items"

# v3, besides its columns: the tag sets (one row per distinct tags object, id 0 = no tags) and
# their items, so grouping and filtering by a tag never parses JSON per record; the indexes
# of the report's queries.
_V3_EXTRA = f"""
CREATE TABLE {TAGSETS} (id INTEGER PRIMARY KEY, tags TEXT NOT NULL UNIQUE);
INSERT INTO {TAGSETS} (id, tags) VALUES (0, '{{}}');
CREATE TABLE {TAG_ITEMS} (
    key TEXT NOT NULL, value TEXT NOT NULL, tagset INTEGER NOT NULL,
    PRIMARY KEY (key, value, tagset)
) WITHOUT ROWID;
CREATE INDEX {TAG_ITEMS}_tagset ON {TAG_ITEMS} (tagset, key, value);
CREATE INDEX {TABLE}_cost ON {TABLE} (cost_p);
CREATE INDEX {TABLE}_run_key ON {TABLE} (run_key, ts_us);
CREATE INDEX {TABLE}_unpriced ON {TABLE} (ts_us) WHERE cost_total IS NULL;
CREATE INDEX {TABLE}_inexact ON {TABLE} (ts_us) WHERE money_inexact = 1;
CREATE INDEX {TABLE}_agg ON {TABLE} ({", ".join(AGG_INDEX)})
"""


#: v4's aggregation index: v3's, plus the cost dimensions added after it (audio, web search),
#: so that the report's GROUP BY reads the index alone (``tests`` check it covers every column
#: ``ledger/_sql_report.py`` sums: a new one needs a new migration step). The bills get a
#: partial index: the report sums them apart, over the billed rows only.
AGG_INDEX_V4: tuple[str, ...] = (
    "tagset", "model", "provider", "kind", "lat_bucket", "ts_us", "cost_p", "cost_input_p",
    "cost_cache_read_p", "cost_cache_write_5m_p", "cost_cache_write_1h_p", "cost_output_p",
    "cost_reasoning_p", "cost_audio_input_p", "cost_audio_output_p", "cost_request_p",
    "cost_web_search_p", "cost_image_generation_p", "saved_p", "money_inexact", "estimated", "usage_estimated",
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens",
    "cache_write_1h_tokens", "reasoning_tokens", "cache_outcome", "truncated",
)  # fmt: skip
#: v4: one row per run (its ``run_key``), kept by the writer in the transaction that adds
#: the run's records, so that counting the runs reads this table, not every record.
RUNS = "cost_runs"
_V4_EXTRA = f"""
CREATE TABLE {RUNS} (run_key TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO {RUNS} (run_key)
    SELECT DISTINCT run_key FROM {TABLE} WHERE run_key IS NOT NULL;
DROP INDEX {TABLE}_agg;
CREATE INDEX {TABLE}_agg4 ON {TABLE} ({", ".join(AGG_INDEX_V4)});
CREATE INDEX {TABLE}_billed ON {TABLE} (ts_us) WHERE billed_p IS NOT NULL
"""
#: v6's aggregation index: v4's columns plus ``attempt`` and ``error``, with the flags the
#: report counts right after the cube columns (``ledger/_sql_sums.py``'s ``FLAG_KEYS``), so that
#: its inner GROUP BY has them as keys in index order (no sort, no aggregate per flag) and the
#: retries and failures come from the same read. Failed and retried attempts get partial
#: indexes (the report lists the failed ones' errors and the retries that recovered).
AGG_INDEX_V6: tuple[str, ...] = (
    "tagset", "model", "provider", "kind", "lat_bucket", "attempt", "error", "cache_outcome",
    "estimated", "usage_estimated", "truncated", "ts_us", "cost_p", "cost_input_p",
    "cost_cache_read_p", "cost_cache_write_5m_p", "cost_cache_write_1h_p", "cost_output_p",
    "cost_reasoning_p", "cost_audio_input_p", "cost_audio_output_p", "cost_request_p",
    "cost_web_search_p", "cost_image_generation_p", "saved_p", "money_inexact", "input_tokens",
    "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
    "reasoning_tokens",
)  # fmt: skip
#: v6: the sparse summed columns the ledger has filled (``ledger/_used.py``), one row each.
USED = "cost_used"
_V6_EXTRA = f"""
CREATE TABLE {USED} (name TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
DROP INDEX {TABLE}_agg4;
CREATE INDEX {TABLE}_agg6 ON {TABLE} ({", ".join(AGG_INDEX_V6)});
CREATE INDEX {TABLE}_failed ON {TABLE} (ts_us) WHERE error IS NOT NULL;
CREATE INDEX {TABLE}_retried ON {TABLE} (ts_us) WHERE attempt > 1
"""
#: v7: the monthly rollup of the report's partial groups (``ledger/_rollup.py``), kept by the
#: writer in the records' transaction; the migration fills it from the stored rows, one pass.
ROLLUP = "cost_rollup"
#: v7: one row, ``runs``: how many rows the runs table has (the writer adds the runs it
#: inserts), so that counting every run reads one row.
COUNTS = "cost_counts"
_V7_EXTRA = (
    create_sql(ROLLUP, f"{ROLLUP}_key", pg=False)
    + ";\n"
    + fill_sql(TABLE, ROLLUP, "WHERE true", pg=False)
    + f""";
CREATE TABLE {COUNTS} (runs INTEGER NOT NULL);
INSERT INTO {COUNTS} (runs) SELECT COUNT(*) FROM {RUNS}"""
)
_EXTRA = {3: _V3_EXTRA, 4: _V4_EXTRA, 6: _V6_EXTRA, 7: _V7_EXTRA}


def _with_extra(steps: tuple[tuple[int, str], ...]) -> tuple[tuple[int, str], ...]:
    """The column steps with each version's extra SQL (a version of indexes alone is a step
    of its own)."""
    merged = dict(steps)
    for v, sql in _EXTRA.items():
        merged[v] = merged[v] + ";\n" + sql if v in merged else sql.strip()
    return tuple(sorted(merged.items()))


#: Ordered ``(version, SQL)`` steps; never edit a released step, append a new one.
#: Steps after the first come from ``ledger/_columns.py`` (plus v3's side tables).
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, _V1),
    *_with_extra(migration_steps("sqlite", TABLE)),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
#: The first version with the tag sets (tag filters read them).
TAGSET_VERSION = 3
#: The first version whose derived columns the SQL aggregation reads (v4: the bills).
AGGREGATE_VERSION = 4
#: The first version with the used table (``ledger/_used.py``).
USED_VERSION = 6
#: The first version with the monthly rollup (``ledger/_rollup.py``).
ROLLUP_VERSION = 7

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
    # The header's application id is only believed once SQLite can read the file: a SQLite
    # header followed by garbage is a damaged file, not "another application's database".
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
        if app_id != APPLICATION_ID:
            conn.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.DatabaseError as exc:
        raise LedgerFileError(str(path), f"it is damaged or truncated: SQLite says {exc}") from exc
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


class TagsetCache:
    """Tag-set ids by the tags' JSON text, known to be committed (one per store)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {"{}": 0}

    def resolve(
        self, conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]], index: int
    ) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
        """``rows`` with the tags text at ``index`` swapped for its tag set's id (created inside
        the caller's write transaction when new), and the ids learned (for :meth:`learn`
        once committed)."""
        ids = self.ids
        new: dict[str, int] = {}
        for row in rows:
            text = row[index]
            if text not in ids and text not in new:
                new[text] = _tagset_id(conn, text)
        lookup = {**ids, **new} if new else ids
        return [(*row[:index], lookup[row[index]], *row[index + 1 :]) for row in rows], new

    def learn(self, new: dict[str, int]) -> None:
        """Remember ids whose transaction committed (a rolled back one is never learned)."""
        if len(self.ids) > 100_000:
            self.ids = {"{}": 0}
        self.ids.update(new)


def _tagset_id(conn: sqlite3.Connection, text: str) -> int:
    row = conn.execute(f"SELECT id FROM {TAGSETS} WHERE tags = ?", (text,)).fetchone()
    if row is not None:
        return int(row[0])
    cur = conn.execute(f"INSERT INTO {TAGSETS} (tags) VALUES (?)", (text,))
    tagset = int(cur.lastrowid or 0)
    conn.executemany(
        f"INSERT OR IGNORE INTO {TAG_ITEMS} (key, value, tagset) VALUES (?, ?, ?)",
        [(k, v, tagset) for k, v in json.loads(text).items()],
    )
    return tagset


def backfill(conn: sqlite3.Connection, batch: int = 5_000) -> int:
    """Fill v3's derived columns of rows written before it (inside the migration's
    transaction); returns how many rows were filled."""
    from tokenomy.ledger._rows import (
        COLUMNS,
        DERIVED,
        ROW_COLUMNS,
        TAGSET_INDEX,
        read_columns,
        row_to_record,
        to_row,
    )

    cache = TagsetCache()
    first = len(COLUMNS)
    derived = derived_until(3)  # the columns of v3 (a later step fills its own)
    sets = ", ".join(f"{c} = ?" for c in derived)
    cols = ", ".join(c if present else f"NULL AS {c}" for c, present in read_columns(3))
    select = f"SELECT rowid, {cols} FROM {TABLE} WHERE rowid > ? ORDER BY rowid LIMIT ?"
    last, done = -1, 0
    while True:
        rows = conn.execute(select, (last, batch)).fetchall()
        if not rows:
            return done
        written = [to_row(row_to_record(r[1:])) for r in rows]
        resolved, new = cache.resolve(conn, written, TAGSET_INDEX)
        cache.learn(new)
        conn.executemany(
            f"UPDATE {TABLE} SET {sets} WHERE rowid = ?",
            [(*w[first : first + len(derived)], r[0]) for w, r in zip(resolved, rows, strict=True)],
        )
        assert len(ROW_COLUMNS) == first + len(DERIVED)
        assert DERIVED[: len(derived)] == derived
        done += len(rows)
        last = rows[-1][0]


def backfill_billed(conn: sqlite3.Connection) -> int:
    """Fill v4's ``billed_p`` of the rows with a bill (inside the migration's transaction; a
    bill not exact in picodollars marks the row ``money_inexact``); returns how many."""
    from decimal import Decimal

    from tokenomy.ledger._rows import pico

    rows = conn.execute(
        f"SELECT rowid, billed_usd FROM {TABLE} WHERE billed_usd IS NOT NULL"
    ).fetchall()
    updates = []
    for rowid, text in rows:
        p = pico(Decimal(str(text)))
        updates.append((p, 1 if p is None else 0, rowid))
    conn.executemany(
        f"UPDATE {TABLE} SET billed_p = ?, money_inexact = MAX(money_inexact, ?) WHERE rowid = ?",
        updates,
    )
    return len(updates)


def fill_used(conn: sqlite3.Connection) -> list[str]:
    """List in the used table the sparse columns the stored rows fill (v6; one pass over the
    aggregation index); returns their names."""
    from tokenomy.ledger._used import count_sql, names_counted

    names = names_counted(conn.execute(count_sql(TABLE)).fetchone())
    conn.executemany(f"INSERT OR IGNORE INTO {USED} (name) VALUES (?)", [(n,) for n in names])
    return names


#: Python steps run right after the SQL of their version (filling what SQL cannot compute).
_PYTHON_STEPS: dict[int, Callable[[sqlite3.Connection], Any]] = {
    3: backfill,
    4: backfill_billed,
    6: fill_used,
}


def read_only_uri(path: Path) -> str:
    """The URI a reader opens ``path`` with (see :func:`open_read_only`)."""
    wal = path.with_name(path.name + "-wal").exists()
    return path.resolve().as_uri() + ("?mode=ro" if wal else "?mode=ro&immutable=1")


def open_read_only(path: Path, *, busy_timeout: float) -> tuple[sqlite3.Connection | None, int]:
    """A read-only connection and the schema version, creating and changing nothing.

    ``(None, 0)`` when the file is absent, empty (0 bytes) or an empty SQLite database: there
    is nothing to read. Raises :class:`LedgerFileError` for anything that is not a ledger.
    """
    probe(path)
    if not path.exists() or path.stat().st_size == 0:
        return None, 0
    # A ledger at rest (no -wal: no writer has it open) is opened immutable, so reading
    # creates no -wal/-shm file; one being written is read through its write-ahead log.
    wal = path.with_name(path.name + "-wal").exists()
    uri = path.resolve().as_uri() + ("?mode=ro" if wal else "?mode=ro&immutable=1")
    try:
        conn = sqlite3.connect(
            uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        app_id, version, _tables = _read_marker(conn)
    except sqlite3.DatabaseError as exc:
        raise LedgerFileError(str(path), f"SQLite cannot read it ({exc})") from exc
    if app_id != APPLICATION_ID:
        conn.close()
        return None, 0
    return conn, version


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
                    python_step = _PYTHON_STEPS.get(step)
                    if python_step is not None and ours:
                        python_step(conn)
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
