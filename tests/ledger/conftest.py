"""Fixtures of the ledger tests: a varied set of records, every store kind, PostgreSQL schemas."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ledger_helpers import drop_schema, make_records, require_postgres

from tokenomy.ledger import CostRecord, LedgerStore, MemoryLedger, PostgresLedger, SQLiteLedger


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A schema name unique to this test (dropped afterwards); skips without PostgreSQL."""
    require_postgres()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"tkn_{worker}_{uuid.uuid4().hex[:10]}"
    try:
        yield schema
    finally:
        drop_schema(schema)


@pytest.fixture
def records() -> list[CostRecord]:
    """The varied record set, in insertion order."""
    return make_records()


STORE_KINDS = ("memory", "sqlite", "sqlite_sync", "postgres")


def _opener(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], LedgerStore]:
    if kind == "memory":
        shared = MemoryLedger()
        return lambda: shared
    if kind in ("sqlite", "sqlite_sync"):
        path = tmp_path / "ledger.db"
        return lambda: SQLiteLedger(path, sync=kind == "sqlite_sync", flush_interval=0.05)
    schema = request.getfixturevalue("pg_schema")
    url = require_postgres()
    return lambda: PostgresLedger(url, schema=schema, flush_interval=0.05)


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each kind of store, in turn."""
    return str(request.param)


@pytest.fixture
def open_store(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], LedgerStore]]:
    """Opens the store of this kind (a new handle on the same data each call); all closed after."""
    opener = _opener(store_kind, tmp_path, request)
    opened: list[LedgerStore] = []

    def open_one() -> LedgerStore:
        store = opener()
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], LedgerStore]) -> LedgerStore:
    """A fresh, empty store of each kind."""
    return open_store()
