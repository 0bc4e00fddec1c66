"""SQLiteLedger's file: recognised, created, migrated; anything else refused and left untouched."""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path

import pytest

from tokenomy.exceptions import ConfigurationError, LedgerError, LedgerFileError
from tokenomy.ledger import CostRecord, SQLiteLedger
from tokenomy.ledger import _sqlite_schema as schema
from tokenomy.ledger._sqlite_schema import APPLICATION_ID, SCHEMA_VERSION, TABLE


def snapshot(directory: Path) -> dict[str, str]:
    """Every file in ``directory`` with the SHA-256 of its bytes.

    A ``-shm`` file is SQLite's shared-memory lock index, which every reader of a WAL database
    updates by design; it holds no data, so only its presence is compared.
    """
    return {
        p.name: "shm" if p.name.endswith("-shm") else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def assert_refused_untouched(path: Path, *needles: str) -> LedgerFileError:
    """Opening ``path`` raises LedgerFileError naming it; no file in its folder changes."""
    before = snapshot(path.parent)
    with pytest.raises(LedgerFileError) as info:
        SQLiteLedger(path)
    assert snapshot(path.parent) == before
    err = info.value
    assert err.path == str(path)
    for needle in needles:
        assert needle in err.reason
    assert "not modified" in str(err)
    return err


def test_new_path_creates_a_marked_wal_ledger(tmp_path: Path) -> None:
    """A missing file (in a missing folder) becomes a ledger: marker, version, WAL, indexes."""
    path = tmp_path / "sub" / "dir" / "ledger.db"
    with SQLiteLedger(path) as store:
        store.add(CostRecord(model="m"))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexed = set()
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", [TABLE]
    ):
        indexed.add(conn.execute(f"PRAGMA index_info('{name}')").fetchall()[0][2])
    assert {"ts_us", "model", "root_run_id", "record_id"} <= indexed
    assert conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0] == 1
    conn.close()


def test_marker_is_in_the_main_file_header(tmp_path: Path) -> None:
    """The application_id is written before WAL mode, so the file's own header carries it."""
    path = tmp_path / "l.db"
    store = SQLiteLedger(path)
    header = path.read_bytes()[:100]
    store.close()
    assert header.startswith(b"SQLite format 3\x00")
    assert int.from_bytes(header[68:72], "big") == APPLICATION_ID


def test_empty_file_becomes_a_ledger(tmp_path: Path) -> None:
    """A zero-byte file (e.g. from touch or mkstemp) is initialised as a fresh ledger."""
    path = tmp_path / "empty.db"
    path.touch()
    with SQLiteLedger(path) as store:
        store.add(CostRecord(model="m"))
        assert len(store) == 1


def test_reopen_keeps_records_and_does_not_migrate_again(tmp_path: Path) -> None:
    """Reopening a ledger sees what was stored and leaves the schema version alone."""
    path = tmp_path / "l.db"
    rec = CostRecord(model="m", tags={"a": "b"})
    with SQLiteLedger(path) as store:
        store.add(rec)
    with SQLiteLedger(path) as store:
        assert store.query() == [rec]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_random_bytes_are_refused_untouched(tmp_path: Path) -> None:
    """A file of random bytes raises LedgerFileError ('not a SQLite database'), unmodified."""
    path = tmp_path / "junk.db"
    path.write_bytes(random.Random(7).randbytes(8192))
    assert_refused_untouched(path, "not a SQLite database")


def test_text_file_is_refused_untouched(tmp_path: Path) -> None:
    """A short text file (shorter than a SQLite header) is refused, unmodified."""
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n")
    assert_refused_untouched(path, "not a SQLite database")


def test_sqlite_header_then_garbage_is_refused_untouched(tmp_path: Path) -> None:
    """A valid SQLite header followed by garbage is reported corrupt, unmodified."""
    good = tmp_path / "good.db"
    conn = sqlite3.connect(good)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    data = bytearray(good.read_bytes())
    data[100:] = random.Random(3).randbytes(len(data) - 100)
    good.unlink()
    path = tmp_path / "broken.db"
    path.write_bytes(bytes(data))
    assert_refused_untouched(path)


def test_other_applications_database_is_refused_untouched(tmp_path: Path) -> None:
    """A database with another application_id is foreign: refused, unmodified."""
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1234")
    conn.execute("CREATE TABLE cost_records (x)")
    conn.commit()
    conn.close()
    assert_refused_untouched(path, "another application", "0x000004d2")


def test_unmarked_database_with_tables_is_refused_untouched(tmp_path: Path) -> None:
    """A database without the tokenomy marker but with tables (say, an app's data) is refused."""
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.commit()
    conn.close()
    assert_refused_untouched(path, "without the tokenomy marker", "users")


def test_unmarked_wal_database_is_refused_without_leaving_files(tmp_path: Path) -> None:
    """A foreign database in WAL mode is refused with no -wal/-shm files left behind."""
    path = tmp_path / "walapp.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE events (x)")
    conn.commit()
    conn.close()
    assert_refused_untouched(path, "events")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walapp.db"]


def test_foreign_database_open_in_another_process_is_refused(tmp_path: Path) -> None:
    """Refused too while its owner holds it open with uncheckpointed WAL content."""
    path = tmp_path / "busy.db"
    owner = sqlite3.connect(path)
    owner.execute("PRAGMA journal_mode = WAL")
    owner.execute("PRAGMA wal_autocheckpoint = 0")
    owner.execute("CREATE TABLE orders (x)")
    owner.commit()
    try:
        assert_refused_untouched(path, "orders")
    finally:
        owner.close()


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    """A ledger written by a newer tokenomy (higher user_version) is refused, unmodified."""
    path = tmp_path / "future.db"
    SQLiteLedger(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    err = assert_refused_untouched(path, f"schema version is {SCHEMA_VERSION + 1}", "upgrade")
    assert str(SCHEMA_VERSION) in err.reason


def test_directory_is_refused(tmp_path: Path) -> None:
    """A directory path raises LedgerFileError, not an obscure sqlite3 error."""
    with pytest.raises(LedgerFileError):
        SQLiteLedger(tmp_path)


def test_memory_path_points_to_memory_ledger() -> None:
    """SQLiteLedger(':memory:') is a ConfigurationError that names MemoryLedger."""
    with pytest.raises(ConfigurationError, match="MemoryLedger"):
        SQLiteLedger(":memory:")


def test_migrations_apply_missing_steps_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new migration step is applied to an existing ledger once, bumping user_version."""
    path = tmp_path / "l.db"
    with SQLiteLedger(path) as store:
        store.add(CostRecord(record_id="kept", model="m"))
    step = (SCHEMA_VERSION + 1, f"ALTER TABLE {TABLE} ADD COLUMN region TEXT; SELECT 1")
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, step))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with SQLiteLedger(path) as store:
        assert [r.record_id for r in store.query()] == ["kept"]
    with SQLiteLedger(path):  # already at the new version: nothing to do
        pass
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert "region" in [r[1] for r in conn.execute(f"PRAGMA table_info({TABLE})")]
    conn.close()


def test_failing_migration_rolls_back_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that fails leaves the ledger at its old version with no partial change."""
    path = tmp_path / "l.db"
    SQLiteLedger(path).close()
    bad = (
        SCHEMA_VERSION + 1,
        f"ALTER TABLE {TABLE} ADD COLUMN region TEXT; ALTER TABLE no_such_table ADD COLUMN x",
    )
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, bad))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(LedgerFileError, match="no_such_table"):
        SQLiteLedger(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "region" not in [r[1] for r in conn.execute(f"PRAGMA table_info({TABLE})")]
    conn.close()


def test_flush_makes_records_visible_to_other_connections(tmp_path: Path) -> None:
    """After flush() a separate sqlite3 connection (as another process would) sees every record."""
    path = tmp_path / "l.db"
    store = SQLiteLedger(path, flush_interval=60)
    for i in range(25):
        store.add(CostRecord(record_id=f"r{i}", model="m"))
    store.flush()
    conn = sqlite3.connect(path)
    assert conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0] == 25
    conn.close()
    store.close()


def test_batch_size_wakes_the_writer_before_the_interval(tmp_path: Path) -> None:
    """Reaching batch_size commits without waiting for flush_interval (here an hour)."""
    import time

    path = tmp_path / "l.db"
    store = SQLiteLedger(path, batch_size=10, flush_interval=3600)
    store.add_many([CostRecord(record_id=f"r{i}", model="m") for i in range(10)])
    conn = sqlite3.connect(path)
    deadline = time.monotonic() + 10
    seen = 0
    while time.monotonic() < deadline:
        seen = conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0]
        if seen == 10:
            break
        time.sleep(0.01)
    conn.close()
    store.close()
    assert seen == 10


def test_add_rejects_non_records(tmp_path: Path) -> None:
    """add() of something that is not a CostRecord raises TypeError at once (not in the writer)."""
    with SQLiteLedger(tmp_path / "l.db") as store:
        with pytest.raises(TypeError):
            store.add({"model": "m"})  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            store.add_many([CostRecord(model="m"), "x"])  # type: ignore[list-item]
        assert len(store) == 0


def test_write_failure_is_reported_and_records_are_kept_for_retry(tmp_path: Path) -> None:
    """If the file is locked by another writer, flush() raises LedgerError; later the records land."""
    path = tmp_path / "l.db"
    store = SQLiteLedger(path, busy_timeout=0.05, flush_interval=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    store.add(CostRecord(record_id="waiting", model="m"))
    with pytest.raises(LedgerError, match="still queued"):
        store.flush()
    blocker.execute("ROLLBACK")
    blocker.close()
    store.flush()
    assert [r.record_id for r in store.query()] == ["waiting"]
    store.close()


def test_every_record_field_has_a_column() -> None:
    """A record with every field set survives record -> row -> record; a new CostRecord field
    fails here until it gets a column (and a migration)."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from tokenomy.ledger import CacheInfo
    from tokenomy.ledger._rows import ROW_COLUMNS, record_to_row, row_to_record
    from tokenomy.pricing import Cost
    from tokenomy.usage import Usage

    full = CostRecord(
        record_id="id",
        run_id="run",
        parent_run_id="parent",
        root_run_id="root",
        timestamp=datetime(2025, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
        provider="openai",
        model="gpt-4o",
        kind="completion",
        usage=Usage(9, 8, 7, 1, 1, 2, estimated=True),
        cost=Cost(
            Decimal("1.5"),
            {"input": Decimal("1"), "output": Decimal("0.5")},
            model="gpt-4o",
            service_tier="flex",
            context_above=200_000,
        ),
        priced=True,
        estimated=True,
        latency_ms=1.25,
        ttft_ms=0.5,
        streamed=True,
        tags={"a": "b"},
        cache=CacheInfo(outcome="exact", saved=Decimal("2"), similarity=1.0),
        attempt=3,
        error="boom",
        usable=False,
        service_tier="flex",
        name="n",
        framework="langchain",
        truncated=True,
        billed_usd=Decimal("1.5123"),
        prefix_hash="p" * 32,
        request_hash="r" * 32,
        prefix_tokens=1200,
        message_count=4,
        prompt_text="how do I reset my password?",
    )
    assert set(CostRecord.model_fields) == {
        "record_id", "run_id", "parent_run_id", "root_run_id", "timestamp", "provider", "model",
        "kind", "usage", "cost", "priced", "estimated", "latency_ms", "ttft_ms", "streamed",
        "tags", "cache", "attempt", "error", "usable", "service_tier", "name", "framework",
        "truncated", "billed_usd", "prefix_hash", "request_hash", "prefix_tokens",
        "message_count", "prompt_text",
    }  # fmt: skip
    row = record_to_row(full)
    assert len(row) == len(ROW_COLUMNS)
    back = row_to_record(row)
    assert back == full
    assert back.model_dump() == full.model_dump()
    assert back.cost is not None and back.cost.model == "gpt-4o"
    # Cost's == leaves these out: the round trip must keep them anyway
    assert (back.cost.service_tier, back.cost.context_above) == ("flex", 200_000)


@pytest.mark.parametrize(
    "kw", [{"batch_size": 0}, {"batch_size": 2.5}, {"flush_interval": 0}, {"flush_interval": "1"}]
)
def test_bad_batching_settings_are_refused_before_the_file_is_created(
    tmp_path: Path, kw: dict[str, object]
) -> None:
    """batch_size < 1 or flush_interval <= 0 raise ConfigurationError and create no file."""
    with pytest.raises(ConfigurationError):
        SQLiteLedger(tmp_path / "l.db", **kw)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_path_under_a_file_is_a_ledger_file_error(tmp_path: Path) -> None:
    """A path whose folder cannot exist (a file is in the way) raises LedgerFileError."""
    blocker = tmp_path / "plain.txt"
    blocker.write_text("x")
    with pytest.raises(LedgerFileError) as info:
        SQLiteLedger(blocker / "sub" / "ledger.db")
    assert info.value.path == str(blocker / "sub" / "ledger.db")
    assert blocker.read_text() == "x"
