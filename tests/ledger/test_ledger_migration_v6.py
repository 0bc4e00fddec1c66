"""Schema v6 (the aggregation index keyed by the flags the report counts, with ``attempt`` and
``error``; the used table of the sparse columns filled): the report's totals, groups and retries
come from one read of that index, summing only the columns some record fills; a ledger written
at schema v5 migrates keeping every record.

The v5 ledger here is written the way the previous code wrote it: the migration steps up to
v5 (unchanged) and the rows in v5's layout (v6 adds no column).
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from dataclasses import replace
from pathlib import Path

from ledger_helpers import (
    assert_same_totals,
    drop_schema,
    make_records,
    require_postgres,
    write_sqlite_at,
)

from tokenomy.ledger import CostRecord, GroupTotals, PostgresLedger, SQLiteLedger, aggregate_records
from tokenomy.ledger._rows import to_row
from tokenomy.ledger._sql_sums import FLAG_KEYS, sums
from tokenomy.ledger._sqlite_schema import (
    AGG_INDEX_V6,
    SCHEMA_VERSION,
)
from tokenomy.ledger._store import attempts_from
from tokenomy.ledger._used import used_in

BYS: list[tuple[str, ...]] = [(), ("model",), ("env",), ("day",), ("run",)]


def _records() -> list[CostRecord]:
    """The varied records: some retried (attempt 2), some failed, some served (attempt 0)."""
    out = make_records()
    out[4] = out[4].model_copy(update={"attempt": 0})
    assert {r.attempt for r in out} == {0, 1, 2} and any(r.error for r in out)
    return out


def _python_attempts(records: list[CostRecord]) -> object:
    def totals(w: object) -> GroupTotals:
        kept = [r for r in records if w.matches(r)]  # type: ignore[attr-defined]
        return (aggregate_records(kept, ()) or [GroupTotals({})])[0]

    return attempts_from(totals, None)


def _statements_of(store: SQLiteLedger | PostgresLedger) -> list[str]:
    """The grouping statements of the report's query by ``env`` (captured, not run), read
    from the records (as when a filter or grouping is outside v7's monthly rollup)."""
    agg = store._agg()
    agg.d = replace(agg.d, rollup="")
    seen: list[str] = []

    def capture(sql: str, params: list[object]) -> list[object]:
        seen.append(sql)
        return []

    agg._fetch_groups = capture  # type: ignore[method-assign]
    agg.aggregate_report([("env",)], None)
    return seen


def test_the_v6_index_holds_every_column_the_report_reads() -> None:
    """Every column the report's inner GROUP BY reads (its sums on either database, the flag
    keys) is in v6's aggregation index, the flags right after the cube columns (SQLite groups
    by them in index order): a column missing would send each report to the table."""
    read: set[str] = set(FLAG_KEYS)
    for pg in (False, True):
        for agg in sums(pg):
            read |= set(re.findall(r"[a-z_][a-z_0-9]*", agg.split("(", 1)[1])) - {
                "miss", "filter", "where", "or", "is", "not", "null",
            }  # fmt: skip
    assert read - set(AGG_INDEX_V6) == set()
    assert AGG_INDEX_V6[5 : 5 + len(FLAG_KEYS)] == FLAG_KEYS


def write_v5_sqlite(path: Path, records: list[CostRecord]) -> None:
    """A SQLite ledger as schema v5 left it."""
    write_sqlite_at(5, path, records)


def test_sqlite_v5_ledger_migrates_and_reports_in_one_read(tmp_path: Path) -> None:
    """Opening a v5 ledger migrates it to v6: every record kept, v4's aggregation index
    replaced; the groups and the attempt figures equal the Python ones, and the report's query
    reads the new index in group order (covering, no sort for its inner GROUP BY)."""
    path = tmp_path / "v5.db"
    records = _records()
    write_v5_sqlite(path, records)
    with SQLiteLedger(path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 6
        assert {r.record_id: r for r in store.query()} == {r.record_id: r for r in records}
        for by in BYS:
            found, attempts = store.aggregate_report([by])
            assert_same_totals(found[0], aggregate_records(records, by))
            assert attempts == _python_attempts(records)
        seen = _statements_of(store)
        assert store._rconn is not None
        plan = store._rconn.execute(f"EXPLAIN QUERY PLAN {seen[0]}", ["env"]).fetchall()
    details = [str(row[-1]) for row in plan]
    assert any("COVERING INDEX cost_records_agg6" in d for d in details), details
    assert sum("TEMP B-TREE" in d for d in details) == 1, details  # the outer GROUP BY only
    names = {
        r[0]
        for r in sqlite3.connect(path).execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'"
        )
    }
    assert {"cost_records_agg6", "cost_records_failed", "cost_records_retried"} <= names
    assert "cost_records_agg4" not in names
    used = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM cost_used")}
    assert used == used_in(to_row(r) for r in records)
    assert "cost_audio_input_p" not in used and {"cost_input_p", "reasoning_tokens"} <= used


def test_the_writer_lists_the_sparse_columns_its_records_fill(tmp_path: Path) -> None:
    """A v6 ledger's writer lists each sparse column in the used table once a record fills
    it (in the records' transaction), and the report, summing only those, stays exact when a
    later record fills one more."""
    records = _records()
    plain = [r.model_copy(update={"cost": None, "priced": False}) for r in records[:5]]
    with SQLiteLedger(tmp_path / "v6.db") as store:
        store.add_many(plain)
        store.flush()
        assert store._rconn is not None
        listed = {r[0] for r in store._rconn.execute("SELECT name FROM cost_used")}
        assert listed == used_in(to_row(r) for r in plain)
        assert not any(n.startswith("cost_") for n in listed)
        store.add_many(records[5:])
        store.flush()
        listed = {r[0] for r in store._rconn.execute("SELECT name FROM cost_used")}
        assert listed == used_in(to_row(r) for r in plain + records[5:])
        assert_same_totals(
            store.aggregate(("model",)), aggregate_records(plain + records[5:], ("model",))
        )


def test_postgres_report_reads_the_v6_index_alone() -> None:
    """On PostgreSQL the report's query (totals, groups, retries) is an index-only scan of v6's
    aggregation index (no table read), and its attempt figures equal the Python ones."""
    url = require_postgres()
    schema = f"tkn_v6_{uuid.uuid4().hex[:10]}"
    records = _records()
    try:
        with PostgresLedger(url, schema=schema, sync=True) as store:
            store.add_many(records)
            found, attempts = store.aggregate_report([("env",)])
            assert_same_totals(found[0], aggregate_records(records, ("env",)))
            assert attempts == _python_attempts(records)
            seen = _statements_of(store)
            with store._wconn.lock:
                conn = store._wconn.get()
                conn.execute(f"ANALYZE {store._dialect.table}")
                with conn.transaction():
                    conn.execute(
                        "SELECT set_config('enable_seqscan', 'off', true), "
                        "set_config('enable_sort', 'off', true), "
                        "set_config('parallel_setup_cost', '0', true), "
                        "set_config('parallel_tuple_cost', '0', true)"
                    )
                    plan = "\n".join(
                        str(r[0]) for r in conn.execute(f"EXPLAIN {seen[0]}", ["env"]).fetchall()
                    )
        assert "Index Only Scan using tokenomy_records_agg6" in plan, plan
        assert "Seq Scan on tokenomy_records " not in plan, plan
    finally:
        drop_schema(schema)
