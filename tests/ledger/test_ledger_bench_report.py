"""benchmarks/bench_report.py at small scale: its rows, and that the data it builds is a ledger."""

from __future__ import annotations

import importlib.util
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

from ledger_helpers import require_postgres

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_report.py"


def _bench() -> ModuleType:
    sys.path.insert(0, str(BENCH.parent))
    spec = importlib.util.spec_from_file_location("bench_report", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    return bench


def test_generated_rows_read_back_as_the_ledger_would_write_them(tmp_path: Path) -> None:
    """The SQL-generated calls read back as records whose money, tags and derived columns
    agree: the store's exact totals equal the Decimal sum of the records it returns."""
    from tokenomy.ledger import SQLiteLedger, aggregate_records

    bench = _bench()
    path = tmp_path / "gen.db"
    bench.build_sqlite(path, 997)
    with SQLiteLedger(path, read_only=True) as store:
        records = store.query()
        assert len(records) == 997
        assert {r.tags["feature"] for r in records} == set(bench.FEATURES)
        total = store.totals()
        assert total.cost == sum((r.cost.total for r in records if r.cost), Decimal(0))
        assert total.unpriced == sum(1 for r in records if r.cost is None) > 0
        by_sql = {g.key["feature"]: g.cost for g in store.aggregate(("feature",))}
        by_py = {g.key["feature"]: g.cost for g in aggregate_records(records, ("feature",))}
        assert by_sql == by_py


def test_run_small_gives_every_row() -> None:
    """run() on 3,000 calls, one round, in SQLite and PostgreSQL: the floor, the command (its
    output checked: every call counted, groups summing to the total) and the in-process query
    for each, and the record_call row, each with its numbers filled in."""
    require_postgres()
    bench = _bench()
    rows = bench.run(3_000, rounds=1, write_n=200)
    cases = [r["case"] for r in rows]
    assert len(rows) == 7
    for db in ("SQLite", "PostgreSQL"):
        assert sum(1 for c in cases if c.startswith(db)) == 3
    assert cases[-1].startswith("writing: tokenomy.record_call")
    commands = [r for r in rows if "tokenomy report --by feature" in r["case"]]
    for row in commands:
        assert row["calls"] == "3,000"
        assert float(row["seconds"]) > 0 and float(row["peak_mb"]) > 0
        assert row["met"] in ("yes", "NO") and row["vs_floor"].endswith("x")
    assert rows[-1]["vs_floor"].endswith("us/call")
