"""Schema v3 (aggregation in SQL): a ledger written at schema v2 keeps every record and reports.

The v2 ledgers here are written the way the previous release wrote them: its migration steps
(v1 and v2, unchanged, still in ``MIGRATIONS``) and its row layout (the v2 columns only), with
the markers it set. Opening one for writing migrates it to v3 and fills the derived columns;
opening it read-only changes no byte and still reads it (aggregated in Python).
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from ledger_helpers import assert_same_totals, drop_schema, make_records, require_postgres

from tokenomy.ledger import PostgresLedger, RecordFilter, SQLiteLedger, aggregate_records
from tokenomy.ledger._columns import ADDED_COLUMNS
from tokenomy.ledger._rows import BOOL_COLUMNS, COLUMNS, to_row
from tokenomy.ledger._sqlite_schema import (
    _PYTHON_STEPS,
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    TABLE,
    _statements,
)

BYS: list[tuple[str, ...]] = [(), ("model",), ("env",), ("env", "team"), ("day",), ("run",)]


#: The columns of a v2 row: today's record columns but those added from v3 on.
V2_COLUMNS = tuple(c for c in COLUMNS if c not in {a.name for a in ADDED_COLUMNS if a.version > 2})
_V2_INDEX = [COLUMNS.index(c) for c in V2_COLUMNS]


def _v2_rows() -> list[tuple[Any, ...]]:
    return [tuple(to_row(r)[i] for i in _V2_INDEX) for r in make_records()]


def write_v2_sqlite(path: Path) -> None:
    """A SQLite ledger exactly as schema v2 left it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for version, sql in MIGRATIONS:
        if version <= 2:
            for statement in _statements(sql):
                conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executemany(
        f"INSERT INTO {TABLE} ({', '.join(V2_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(V2_COLUMNS))})",
        _v2_rows(),
    )
    conn.close()


def test_v3_is_the_version_with_a_python_backfill() -> None:
    """The aggregation layout is schema v3, and its step fills the rows already stored."""
    assert SCHEMA_VERSION >= 3  # later versions add plain columns (v4: request hashes)
    assert 3 in _PYTHON_STEPS


def test_sqlite_v2_ledger_migrates_keeping_every_record(tmp_path: Path) -> None:
    """Opening a v2 ledger migrates it to v3: every record reads back as written, the derived
    columns are filled (money in picodollars, tag sets), and the SQL aggregation equals the
    exact Python aggregation of the records."""
    path = tmp_path / "old.db"
    write_v2_sqlite(path)
    records = make_records()
    with SQLiteLedger(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        got = {r.record_id: r for r in store.query()}
        assert got == {r.record_id: r for r in records}
        for by in BYS:
            assert_same_totals(store.aggregate(by), aggregate_records(records, by))
        where = RecordFilter(tags={"env": "prod"})
        assert_same_totals(
            store.aggregate(("team",), where),
            aggregate_records([r for r in records if where.matches(r)], ("team",)),
        )
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    unfilled = conn.execute(
        f"SELECT COUNT(*) FROM {TABLE} WHERE run_key IS NULL "
        "OR (cost_total IS NOT NULL AND cost_p IS NULL AND money_inexact = 0)"
    ).fetchone()[0]
    assert unfilled == 0
    tagged = conn.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE tags <> '{{}}' AND tagset = 0")
    assert tagged.fetchone()[0] == 0


def test_reading_a_v2_ledger_changes_no_byte(tmp_path: Path) -> None:
    """A read-only open (what the command line does) of a v2 ledger neither migrates nor writes
    it, and still reports the same figures (aggregated in Python)."""
    path = tmp_path / "old.db"
    write_v2_sqlite(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    records = make_records()
    with SQLiteLedger(path, read_only=True) as store:
        assert store.schema_version == 2
        assert len(store.query()) == len(records)
        assert store.aggregate(("env",)) == aggregate_records(records, ("env",))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2


def test_postgres_v2_ledger_migrates_keeping_every_record() -> None:
    """The same on PostgreSQL: v2 tables (the released steps, the meta table at version 2)
    are migrated to v3 on open with every record kept and exact SQL totals."""
    import psycopg
    from psycopg import sql

    from tokenomy.ledger._postgres_schema import PG_MIGRATIONS

    url = require_postgres()
    schema = f"tkn_mig_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            names = {
                "records": sql.Identifier(schema, "tokenomy_records"),
                "meta": sql.Identifier(schema, "tokenomy_records_meta"),
                "ix_ts": sql.Identifier("tokenomy_records_ts"),
                "ix_model": sql.Identifier("tokenomy_records_model"),
                "ix_run": sql.Identifier("tokenomy_records_root_run"),
                "ix_tags": sql.Identifier("tokenomy_records_tags"),
            }
            for version, template in PG_MIGRATIONS:
                if version <= 2:
                    for statement in template.split(";"):
                        if statement.strip():
                            conn.execute(sql.SQL(statement.strip()).format(**names))
            meta = sql.SQL("INSERT INTO {} (key, value) VALUES (%s, %s)").format(names["meta"])
            conn.execute(meta, ["application", "tokenomy"])
            conn.execute(meta, ["schema_version", "2"])
            values = sql.SQL(", ").join(
                sql.SQL("%s::int::boolean" if c in BOOL_COLUMNS else "%s") for c in V2_COLUMNS
            )
            insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                names["records"], sql.SQL(", ").join(map(sql.Identifier, V2_COLUMNS)), values
            )
            with conn.cursor() as cur:
                cur.executemany(insert, _v2_rows())
        records = make_records()
        with PostgresLedger(url, schema=schema, read_only=True) as reader:
            assert reader.schema_version == 2
            assert len(reader.query()) == len(records)
        with PostgresLedger(url, schema=schema) as store:
            assert store.schema_version == SCHEMA_VERSION
            assert {r.record_id: r for r in store.query()} == {r.record_id: r for r in records}
            for by in BYS:
                assert_same_totals(store.aggregate(by), aggregate_records(records, by))
    finally:
        drop_schema(schema)
