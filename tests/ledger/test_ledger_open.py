"""open_ledger() specs, the process-wide default ledger, and what importing the ledger costs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_helpers import subprocess_env

from tokenomy.exceptions import ConfigurationError, LedgerError
from tokenomy.ledger import (
    CostRecord,
    MemoryLedger,
    SQLiteLedger,
    default_ledger,
    open_ledger,
    set_default_ledger,
)
from tokenomy.ledger import _open as ledger_open


@pytest.fixture
def fresh_default() -> Iterator[None]:
    """Forget the process-wide default for the test, restore it afterwards."""
    previous = set_default_ledger(None)
    try:
        yield
    finally:
        created = set_default_ledger(previous)
        if (
            created is not None
            and created is not previous
            and not isinstance(created, MemoryLedger)
        ):
            created.close()


def test_none_and_empty_give_the_process_memory_ledger() -> None:
    """None and '' both name one shared MemoryLedger; ':memory:' a new private one."""
    a, b = open_ledger(None), open_ledger("")
    assert isinstance(a, MemoryLedger)
    assert a is b
    private = open_ledger(":memory:")
    assert isinstance(private, MemoryLedger)
    assert private is not a and private is not open_ledger(":memory:")


def test_paths_and_sqlite_urls_give_sqlite_ledgers(tmp_path: Path) -> None:
    """A plain path, a Path, sqlite:////abs and sqlite:///rel all open that SQLite file."""
    target = tmp_path / "a.db"
    for spec in (str(target), target, f"sqlite:///{target}"):
        store = open_ledger(spec)
        assert isinstance(store, SQLiteLedger)
        assert store.path == target
        store.close()
    assert f"sqlite:///{target}".startswith("sqlite:////")


def test_relative_sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sqlite:///rel/x.db is relative to the working directory (SQLAlchemy's convention)."""
    monkeypatch.chdir(tmp_path)
    store = open_ledger("sqlite:///rel/x.db")
    store.close()
    assert (tmp_path / "rel" / "x.db").exists()


@pytest.mark.parametrize("spec", ["sqlite://", "sqlite:///", "sqlite:x.db", "mysql://u@h/db"])
def test_unreadable_specs_are_configuration_errors(spec: str) -> None:
    """Malformed or unsupported specs raise ConfigurationError listing the accepted forms."""
    with pytest.raises(ConfigurationError, match=r"postgresql|sqlite:///"):
        open_ledger(spec)


def test_default_ledger_reads_env_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_default: None
) -> None:
    """default_ledger() opens TOKENOMY_LEDGER when first needed, then keeps that store."""
    path = tmp_path / "env.db"
    monkeypatch.setenv("TOKENOMY_LEDGER", str(path))
    store = default_ledger()
    assert isinstance(store, SQLiteLedger) and store.path == path
    monkeypatch.setenv("TOKENOMY_LEDGER", str(tmp_path / "other.db"))
    assert default_ledger() is store
    assert not (tmp_path / "other.db").exists()


def test_default_ledger_without_env_is_the_memory_ledger(fresh_default: None) -> None:
    """With TOKENOMY_LEDGER unset the default is the process-wide MemoryLedger."""
    assert default_ledger() is open_ledger(None)


def test_set_default_ledger_returns_the_previous(fresh_default: None) -> None:
    """set_default_ledger() swaps the store and hands back the old one for restoring."""
    mine = MemoryLedger()
    assert set_default_ledger(mine) is None
    assert default_ledger() is mine
    other = MemoryLedger()
    assert set_default_ledger(other) is mine
    assert default_ledger() is other
    with pytest.raises(ConfigurationError):
        set_default_ledger("ledger.db")  # type: ignore[arg-type]


def test_closing_the_process_memory_ledger_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`with open_ledger(None)` does not destroy the shared ledger others write to; a private
    MemoryLedger (seeded with records) is closed for real."""
    monkeypatch.setattr(ledger_open, "_shared_memory", None)  # leave the real one alone
    rec = CostRecord(model="m")
    with open_ledger(None) as shared:
        shared.add(rec)
    assert open_ledger(None) is shared
    assert shared.query() == [rec]
    private = MemoryLedger([rec])
    assert private.query() == [rec]
    private.close()
    with pytest.raises(LedgerError):
        private.query()


_IMPORT_PROBE = """
import atexit, sys, threading
before = atexit._ncallbacks()
import tokenomy.ledger
from tokenomy.ledger import SQLiteLedger, CostRecord
after_import = atexit._ncallbacks()
print("psycopg" in sys.modules, threading.active_count(), after_import - before)
a = SQLiteLedger(sys.argv[1] + "/a.db")
first = atexit._ncallbacks() - before
b = SQLiteLedger(sys.argv[1] + "/b.db")
print(threading.active_count(), first > 0, atexit._ncallbacks() - before - first)
a.close(); b.close()
print(threading.active_count())
"""


def test_import_is_side_effect_free_and_threads_start_with_stores(tmp_path: Path) -> None:
    """Importing the ledger starts no thread, registers no atexit hook, imports no psycopg;
    each store starts one writer thread; only the first store registers exit hooks."""
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
        check=True,
    ).stdout.split("\n")
    assert out[0] == "False 1 0"
    assert out[1] == "3 True 0"
    assert out[2] == "1"
