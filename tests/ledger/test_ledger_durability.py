"""What survives a crash, an exit or a forgotten close(), and several processes writing at once.

Each scenario runs a real child Python process against a real SQLite file.
"""

from __future__ import annotations

import gc
import signal
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_helpers import subprocess_env

from tokenomy.ledger import CostRecord, SQLiteLedger
from tokenomy.pricing import Cost

N = 200

_CHILD = """
import os, signal, sys
from decimal import Decimal
from tokenomy.ledger import CostRecord, SQLiteLedger
from tokenomy.pricing import Cost

path, mode, ending, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
store = SQLiteLedger(path, sync=(mode == "sync"), flush_interval=3600)
for i in range(n):
    store.add(CostRecord(
        record_id=f"{prefix}-{i}", model="gpt-4o",
        cost=Cost(total=Decimal("0.000123"), parts={"input": Decimal("0.000123")}), priced=True,
    ))
if ending.startswith("flush"):
    store.flush()
    ending = ending.removeprefix("flush+")
print("added", flush=True)
if ending == "os_exit":
    os._exit(1)
if ending == "sigkill":
    os.kill(os.getpid(), signal.SIGKILL)
if ending == "drop":
    del store
# "exit": a normal interpreter exit without flush() or close()
"""


def run_child(
    path: Path, mode: str, ending: str, prefix: str = "c", n: int = N
) -> subprocess.CompletedProcess[str]:
    """Run the writer child to completion and return its result."""
    return subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), mode, ending, prefix, str(n)],
        capture_output=True,
        text=True,
        timeout=120,
        env=subprocess_env(),
        check=False,
    )


def stored_ids(path: Path) -> set[str]:
    """The record ids in the ledger at ``path`` (opened fresh)."""
    with SQLiteLedger(path) as store:
        return {r.record_id for r in store.query()}


def test_sync_mode_keeps_every_record_through_sigkill(tmp_path: Path) -> None:
    """sync=True: add() has committed, so a SIGKILL right after the last add loses nothing."""
    path = tmp_path / "l.db"
    result = run_child(path, "sync", "sigkill")
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert "added" in result.stdout
    assert stored_ids(path) == {f"c-{i}" for i in range(N)}


def test_sync_mode_keeps_every_record_through_os_exit(tmp_path: Path) -> None:
    """sync=True: os._exit(1) (no atexit, no finalizers) loses nothing."""
    path = tmp_path / "l.db"
    result = run_child(path, "sync", "os_exit")
    assert result.returncode == 1, result.stderr
    assert stored_ids(path) == {f"c-{i}" for i in range(N)}


def test_batched_mode_flush_then_os_exit_keeps_everything(tmp_path: Path) -> None:
    """Default mode: once flush() returned, an os._exit(1) loses nothing."""
    path = tmp_path / "l.db"
    result = run_child(path, "batched", "flush+os_exit")
    assert result.returncode == 1, result.stderr
    assert stored_ids(path) == {f"c-{i}" for i in range(N)}


def test_batched_mode_flush_then_sigkill_keeps_everything(tmp_path: Path) -> None:
    """Default mode: once flush() returned, even SIGKILL loses nothing."""
    path = tmp_path / "l.db"
    result = run_child(path, "batched", "flush+sigkill")
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert stored_ids(path) == {f"c-{i}" for i in range(N)}


def test_batched_mode_flushes_at_normal_exit(tmp_path: Path) -> None:
    """Default mode without flush() or close(): the atexit hook commits the queue."""
    path = tmp_path / "l.db"
    result = run_child(path, "batched", "exit")
    assert result.returncode == 0, result.stderr
    assert stored_ids(path) == {f"c-{i}" for i in range(N)}


def test_dropped_store_flushes_when_collected(tmp_path: Path) -> None:
    """A store dropped without close() commits its queue when garbage-collected (in-process)."""
    path = tmp_path / "l.db"
    store = SQLiteLedger(path, flush_interval=3600)
    store.add_many(CostRecord(record_id=f"g{i}", model="m") for i in range(50))
    del store
    gc.collect()
    assert stored_ids(path) == {f"g{i}" for i in range(50)}


def test_dropped_store_in_child_flushes(tmp_path: Path) -> None:
    """Same in a child that deletes its store and exits normally."""
    path = tmp_path / "l.db"
    result = run_child(path, "batched", "drop")
    assert result.returncode == 0, result.stderr
    assert stored_ids(path) == {f"c-{i}" for i in range(N)}


@pytest.mark.parametrize("mode", ["batched", "sync"])
def test_processes_writing_one_file_at_once(tmp_path: Path, mode: str) -> None:
    """Three processes writing the same file concurrently: every record lands, total exact."""
    path = tmp_path / "shared.db"
    SQLiteLedger(path).close()  # created up front so the children race on writes, not creation
    n = 300
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), mode, "exit", f"p{k}", str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        )
        for k in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    with SQLiteLedger(path) as store:
        assert len(store) == 3 * n
        assert store.totals().cost == Decimal("0.000123") * 3 * n
        assert [g.count for g in store.aggregate(["model"])] == [3 * n]


def test_processes_creating_one_new_file_at_once(tmp_path: Path) -> None:
    """Processes racing to create the same new ledger all succeed and migrate it once."""
    path = tmp_path / "fresh.db"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), "batched", "exit", f"p{k}", "20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        )
        for k in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert len(stored_ids(path)) == 80


def test_records_written_by_another_process_are_read_back_exactly(tmp_path: Path) -> None:
    """A reader process-side store sees a child's records with their exact Decimal costs."""
    path = tmp_path / "l.db"
    assert run_child(path, "batched", "flush+exit", n=3).returncode == 0
    with SQLiteLedger(path) as store:
        got = store.query()
    assert [r.cost for r in got] == [
        Cost(total=Decimal("0.000123"), parts={"input": Decimal("0.000123")})
    ] * 3


def test_exit_registry_does_not_keep_stores_alive(tmp_path: Path) -> None:
    """Closed or dropped stores are not kept alive by the exit hook (it holds them weakly),
    and their writer threads end."""
    import weakref

    from tokenomy.ledger._writer import _LIVE

    closed = SQLiteLedger(tmp_path / "a.db")
    open_one = SQLiteLedger(tmp_path / "b.db")
    assert closed in _LIVE and open_one in _LIVE
    closed.close()
    assert closed not in _LIVE
    refs = [weakref.ref(closed), weakref.ref(open_one)]
    del closed, open_one
    gc.collect()
    assert [r() for r in refs] == [None, None]
    names = {t.name for t in threading.enumerate()}
    assert not {"tokenomy-ledger-writer[a.db]", "tokenomy-ledger-writer[b.db]"} & names
