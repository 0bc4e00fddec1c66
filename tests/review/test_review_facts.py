"""The review's facts are the same whether a store answers them in SQL (SQLite, PostgreSQL) or
they are read record by record (a memory ledger): one varied ledger — routes, errors, retries,
truncation, cache hits, labels, repeats, prefixes, runs, opted-in text — three stores."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import tokenomy
from services import drop_schema, require_postgres
from tokenomy import (
    CacheInfo,
    LedgerStore,
    MemoryLedger,
    PostgresLedger,
    RequestHashes,
    SQLiteLedger,
    Usage,
)
from tokenomy.ledger import RecordFilter
from tokenomy.review import TagNames, build_review, read_facts

BASE = datetime(2026, 9, 1, tzinfo=UTC)
pytestmark = pytest.mark.filterwarnings("ignore::tokenomy.UnknownModelPriceWarning")


def fill(ledger: LedgerStore) -> None:
    """Four days of varied calls."""
    for i in range(400):
        tags = {"feature": ["faq", "search", "summary"][i % 3], "user": f"u{i % 7}"}
        if i % 10 == 0:
            tags.update(route_tier=str(i % 20 // 10), route_start="0",
                        route_accepted="true" if i % 20 == 0 else "false")
        if i % 37 == 0:
            tags["budget_downgraded_from"] = "gpt-4o"
        cache = CacheInfo(outcome="exact") if i % 50 == 7 else None
        stored = tokenomy.store_call(
            model=["gpt-4o", "gpt-4o-mini", "unknown-model-x"][i % 3],
            usage=Usage(input=500 + (i * 37) % 3000, output=20 + (i * 11) % 700, cache_read=(i % 4) * 100),
            ledger=ledger,
            tags=tags,
            timestamp=BASE + timedelta(minutes=14 * i, seconds=i % 60),
            run_id=f"run-{i // 5}" if i < 300 else None,
            root_run_id=f"run-{i // 5}" if i < 300 else ("big-run" if i >= 350 else None),
            latency_ms=100.0 + i,
            streamed=i % 6 == 0,
            attempt=2 if i % 13 == 0 else 1,
            error="RateLimitError" if i % 17 == 0 else None,
            truncated=i % 19 == 0,
            cache=cache,
            request=RequestHashes(
                f"{i % 3:032d}" if i % 2 else None, f"{i % 90:032d}", 1200 + i % 3, 2 + i % 9,
                f"question number {i % 40} about billing" if i % 5 == 0 else None,
            ),
        )
        if i % 4 == 0:
            ledger.mark_usable(stored.record_id, i % 8 == 0)
    ledger.flush()


def _facts(store: LedgerStore) -> object:
    f = read_facts(store, RecordFilter(since=BASE, until=BASE + timedelta(days=30)), TagNames())
    return (f.hourly, f.groups, f.prefixes, f.repeats, f.run_sizes, f.big_runs, sorted(f.texts))


@pytest.fixture
def memory() -> MemoryLedger:
    ledger = MemoryLedger()
    fill(ledger)
    return ledger


def test_sqlite_facts_equal_record_by_record(memory: MemoryLedger, tmp_path: Path) -> None:
    """SQLite's SQL facts equal the memory ledger's, and so do the whole reviews."""
    with SQLiteLedger(tmp_path / "l.db") as sqlite:
        fill(sqlite)
        assert read_facts(sqlite, None, TagNames()).exact
        assert _facts(sqlite) == _facts(memory)
        until = BASE + timedelta(days=30)
        a = build_review(memory, since=BASE, until=until).to_json_dict()
        b = build_review(sqlite, since=BASE, until=until).to_json_dict()
        a.pop("latency_by_model")
        b.pop("latency_by_model")  # SQL percentiles are within 1%, not exact
        assert a == b


def test_postgres_facts_equal_record_by_record(memory: MemoryLedger) -> None:
    """PostgreSQL's SQL facts equal the memory ledger's."""
    url = require_postgres()
    schema = f"tkn_review_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
    try:
        with PostgresLedger(url, schema=schema) as pg:
            fill(pg)
            assert _facts(pg) == _facts(memory)
    finally:
        drop_schema(schema)


def test_review_of_an_older_ledger_reads_without_hashes(tmp_path: Path) -> None:
    """A v3 ledger (no hash columns) is reviewed: no prefix or repeat facts, the rest there."""
    import sqlite3

    path = tmp_path / "old.db"
    with SQLiteLedger(path) as ledger:
        fill(ledger)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    with SQLiteLedger(path, read_only=True) as old:
        assert old.schema_version == 3
        f = read_facts(old, None, TagNames())
        assert f.prefixes == {} and f.repeats == {}
        assert sum(v[0] for v in f.groups.values()) == 400
        assert sum((v[1] for v in f.groups.values()), Decimal(0)) == old.totals().cost
