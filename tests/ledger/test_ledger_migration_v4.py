"""Schema v4 (the bills in picodollars, the runs table, a covering aggregation index): a ledger
written at schema v3 keeps every record, and its report counts the bills and the runs exactly.

The v3 ledgers here are written the way the previous code wrote them: the migration steps up
to v3 (unchanged), the v3 record columns, and v3's own Python step filling its derived columns.
"""

from __future__ import annotations

import sqlite3
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger_helpers import assert_same_totals, drop_schema, make_records, require_postgres

from tokenomy.ledger import CostRecord, PostgresLedger, SQLiteLedger, aggregate_records
from tokenomy.ledger._columns import ADDED_COLUMNS
from tokenomy.ledger._rows import BOOL_COLUMNS, COLUMNS, pico, to_row
from tokenomy.ledger._sql_sums import sums as _sums
from tokenomy.ledger._sqlite_schema import (
    _PYTHON_STEPS,
    AGG_INDEX_V4,
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    TABLE,
    _statements,
)
from tokenomy.ledger._store import latest_runs

BYS: list[tuple[str, ...]] = [(), ("model",), ("env",), ("day",), ("run",)]
#: The record columns of a v3 row (derived ones are filled by v3's step).
V3_COLUMNS = tuple(c for c in COLUMNS if c not in {a.name for a in ADDED_COLUMNS if a.version > 3})
_V3_INDEX = [COLUMNS.index(c) for c in V3_COLUMNS]


def billed_records() -> list[CostRecord]:
    """The varied records, some with a provider's bill: equal to the cost, 10% over it,
    on an unpriced call, and one with more places than picodollars hold."""
    out = []
    for i, r in enumerate(make_records()):
        book = r.total_cost
        bill: Decimal | None = None
        if i % 5 == 0 and book is not None:
            bill = book
        elif i % 5 == 1 and book is not None:
            bill = book * Decimal("1.1")
        elif i % 5 == 2 and book is None:
            bill = Decimal("0.0042")
        elif i == 3:
            bill = Decimal("0.00000000000001")  # 14 places: not exact in picodollars
        out.append(r.model_copy(update={"billed_usd": bill}) if bill is not None else r)
    assert sum(r.billed_mismatch for r in out) >= 2
    return out


def _v3_rows(records: list[CostRecord]) -> list[tuple[Any, ...]]:
    return [tuple(to_row(r)[i] for i in _V3_INDEX) for r in records]


def write_v3_sqlite(path: Path, records: list[CostRecord]) -> None:
    """A SQLite ledger as schema v3 left it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("BEGIN")
    for version, sql in MIGRATIONS:
        if version <= 3:
            for statement in _statements(sql):
                conn.execute(statement)
    conn.executemany(
        f"INSERT INTO {TABLE} ({', '.join(V3_COLUMNS)}) VALUES ({', '.join('?' * len(V3_COLUMNS))})",
        _v3_rows(records),
    )
    _PYTHON_STEPS[3](conn)
    conn.execute("PRAGMA user_version = 3")
    conn.execute("COMMIT")
    conn.close()


def test_the_aggregation_index_covers_every_column_the_report_sums() -> None:
    """v4's aggregation index holds every column the report's GROUP BY reads (v3's missed the
    audio and web-search dimensions, sending each report to the table): a column summed that
    it lacks needs a new migration step."""
    import re

    read = set()
    for agg in _sums(False):
        read |= set(re.findall(r"[a-z_0-9]+", agg.split("(", 1)[1])) - {"miss"}
    assert read - set(AGG_INDEX_V4) == set()


def test_sqlite_v3_ledger_migrates_with_bills_and_runs(tmp_path: Path) -> None:
    """Opening a v3 ledger migrates it to v4: every record kept, ``billed_p`` filled (the bill
    with 14 places marks its row inexact), the runs table holds each run once, and the SQL
    figures (the bills, what was charged, the mismatches, the runs) equal the Python ones."""
    path = tmp_path / "v3.db"
    records = billed_records()
    write_v3_sqlite(path, records)
    with SQLiteLedger(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert {r.record_id: r for r in store.query()} == {r.record_id: r for r in records}
        for by in BYS:
            assert_same_totals(store.aggregate(by), aggregate_records(records, by))
        assert store.run_page(None, 2).total == latest_runs(records, 2).total
    conn = sqlite3.connect(path)
    billed = dict(
        conn.execute(f"SELECT record_id, billed_p FROM {TABLE} WHERE billed_usd IS NOT NULL")
    )
    assert billed == {r.record_id: pico(r.billed_usd) for r in records if r.billed_usd is not None}
    assert conn.execute(
        f"SELECT money_inexact FROM {TABLE} WHERE record_id = 'rec-003'"
    ).fetchone() == (1,)
    runs = {row[0] for row in conn.execute("SELECT run_key FROM cost_runs")}
    assert runs == {r.root_run_id or r.run_id or r.record_id for r in records}


def test_sql_bills_are_exact_without_the_python_fallback(tmp_path: Path) -> None:
    """With every bill exact in picodollars the SQL path answers (no inexact row): the charged
    total is the cost with each bill in place of its call's price-book cost, the mismatches
    are counted, and a call with a bill but no price is not left out of what was charged."""
    records = [r for r in billed_records() if r.record_id != "rec-003"]
    with SQLiteLedger(tmp_path / "v4.db", sync=True) as store:
        store.add_many(records)
        assert not store._agg()._inexact(None)
        (total,) = store.aggregate(())
    assert total.billed == sum(r.billed_usd is not None for r in records)
    assert total.billed_mismatch == sum(r.billed_mismatch for r in records) > 0
    assert total.charged == sum(
        (r.charged_usd for r in records if r.charged_usd is not None), Decimal(0)
    )
    assert total.uncharged == sum(r.charged_usd is None for r in records)
    assert total.charged != total.cost


def test_postgres_v3_ledger_migrates_with_bills_and_runs() -> None:
    """The same on PostgreSQL: v3 tables migrated to v4 keep every record, fill ``billed_p``
    exactly (in NUMERIC) and the runs table, and report exact totals."""
    import psycopg
    from psycopg import sql

    from tokenomy.ledger._postgres_schema import PG_MIGRATIONS, PG_SCHEMA_VERSION, backfill_postgres

    url = require_postgres()
    schema = f"tkn_mig4_{uuid.uuid4().hex[:10]}"
    records = billed_records()
    table = "tokenomy_records"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            names = {
                "records": sql.Identifier(schema, table),
                "meta": sql.Identifier(schema, f"{table}_meta"),
                "tagsets": sql.Identifier(schema, f"{table}_tagsets"),
                "items": sql.Identifier(schema, f"{table}_tag_items"),
                "ix_ts": sql.Identifier(f"{table}_ts"),
                "ix_model": sql.Identifier(f"{table}_model"),
                "ix_run": sql.Identifier(f"{table}_root_run"),
                "ix_tags": sql.Identifier(f"{table}_tags"),
                **{
                    f"ix_{ix}": sql.Identifier(f"{table}_{ix}")
                    for ix in (
                        "tagset",
                        "cost",
                        "run_key",
                        "unpriced",
                        "inexact",
                        "items_tagset",
                        "agg",
                    )
                },
            }
            with conn.transaction():
                for version, template in PG_MIGRATIONS:
                    if version <= 3:
                        for statement in template.split(";"):
                            if statement.strip():
                                conn.execute(sql.SQL(statement.strip()).format(**names))
                meta = sql.SQL("INSERT INTO {} (key, value) VALUES (%s, %s)").format(names["meta"])
                conn.execute(meta, ["application", "tokenomy"])
                conn.execute(meta, ["schema_version", "3"])
                values = sql.SQL(", ").join(
                    sql.SQL("%s::int::boolean" if c in BOOL_COLUMNS else "%s") for c in V3_COLUMNS
                )
                insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    names["records"], sql.SQL(", ").join(map(sql.Identifier, V3_COLUMNS)), values
                )
                with conn.cursor() as cur:
                    cur.executemany(insert, _v3_rows(records))
                backfill_postgres(
                    conn,
                    names["records"].as_string(conn),
                    names["tagsets"].as_string(conn),
                    names["items"].as_string(conn),
                )
        with PostgresLedger(url, schema=schema) as store:
            assert store.schema_version == PG_SCHEMA_VERSION
            assert {r.record_id: r for r in store.query()} == {r.record_id: r for r in records}
            for by in BYS:
                assert_same_totals(store.aggregate(by), aggregate_records(records, by))
            assert store.run_page(None, 2).total == latest_runs(records, 2).total
            billed = dict(
                store._execute(
                    f"SELECT record_id, billed_p FROM {store._dialect.table} "
                    "WHERE billed_usd IS NOT NULL",
                    [],
                )
            )
            assert billed == {
                r.record_id: pico(r.billed_usd) for r in records if r.billed_usd is not None
            }
    finally:
        drop_schema(schema)
