"""The command line never destroys data, and every exit code has one documented meaning."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tokenomy.cli import main
from tokenomy.cli._common import EXIT_INPUT, EXIT_OK, EXIT_REFUSED, EXIT_UNPRICED
from tokenomy.ledger import CostRecord, SQLiteLedger
from tokenomy.usage import Usage


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """A SQLite ledger with a few hundred records (several pages)."""
    path = tmp_path / "ledger.sqlite"
    with SQLiteLedger(path) as store:
        store.add_many(
            CostRecord(model="gpt-4o", usage=Usage(input=i, output=1), tags={"feature": f"f{i % 7}"})
            for i in range(400)
        )
    return path


def test_export_refuses_to_write_onto_the_ledger_it_reads(
    ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``export --ledger L -o L`` exits 3 with one line and leaves the ledger byte for byte,
    even with --force."""
    before = _digest(ledger)
    for extra in ([], ["--force"]):
        code = main(["export", "--ledger", str(ledger), "-o", str(ledger), *extra])
        err = capsys.readouterr().err
        assert code == EXIT_REFUSED
        assert "it is the ledger being read" in err and err.count("\n") == 1
    assert _digest(ledger) == before
    with SQLiteLedger(ledger, read_only=True) as store:
        assert store.count() == 400


def test_export_never_replaces_an_existing_file_without_force(
    ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing -o file is refused (exit 3, unchanged); --force replaces it with the lines."""
    out = tmp_path / "mine.txt"
    out.write_text("keep me\n")
    assert main(["export", "--ledger", str(ledger), "-o", str(out)]) == EXIT_REFUSED
    assert "--force" in capsys.readouterr().err
    assert out.read_text() == "keep me\n"
    assert main(["export", "--ledger", str(ledger), "-o", str(out), "--force"]) == EXIT_OK
    assert len(out.read_text().splitlines()) == 400
    fresh = tmp_path / "new.jsonl"
    assert main(["export", "--ledger", str(ledger), "-o", str(fresh)]) == EXIT_OK
    assert fresh.read_text() == out.read_text()


@pytest.mark.parametrize("command", ["report", "export"])
def test_reading_an_empty_file_leaves_it_empty(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read on a 0-byte file reports no records (exit 0) and creates or migrates nothing:
    the file stays 0 bytes and no -wal/-shm file appears."""
    empty = tmp_path / "empty.db"
    empty.touch()
    assert main([command, "--ledger", str(empty)]) == EXIT_OK
    capsys.readouterr()
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_a_report_reads_without_writing(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Reporting on (and exporting) a ledger at rest changes none of its bytes and leaves no
    new file beside it (no -wal or -shm)."""
    before = _digest(ledger)
    files = sorted(p.name for p in ledger.parent.iterdir())
    assert main(["report", "--ledger", str(ledger), "--format", "json", "--by", "feature"]) == 0
    assert '"count": 400' in capsys.readouterr().out
    assert main(["export", "--ledger", str(ledger)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 400
    assert _digest(ledger) == before
    assert sorted(p.name for p in ledger.parent.iterdir()) == files


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(4096 * 2, len(data), 512):
        data[i : i + 64] = os.urandom(64)
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


@pytest.mark.parametrize("spoil", [_damage, _truncate], ids=["damaged", "truncated"])
def test_a_damaged_or_truncated_ledger_exits_2_with_one_line(
    ledger: Path, spoil: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """Damaged pages and a truncated file are the same case: exit 2, one line, no traceback."""
    spoil(ledger)  # type: ignore[operator]
    code = main(["report", "--ledger", str(ledger), "--format", "json"])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT
    assert err.startswith("tokenomy report: error: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_sqlite_header_then_garbage_is_called_damaged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SQLite header followed by garbage is a damaged file, not another application's
    database (its header bytes 68-72 are garbage too), and stays untouched."""
    path = tmp_path / "junk.db"
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 16)
    before = _digest(path)
    assert main(["report", "--ledger", str(path)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "damaged or truncated" in err and "another application" not in err
    assert _digest(path) == before


def test_prices_with_a_bad_file_prints_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tokenomy prices --file bad.toml`` exits 2 with one clear line, like ``tokenomy cost``."""
    bad = tmp_path / "bad.toml"
    bad.write_text("x = [")
    assert main(["prices", "--file", str(bad)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("tokenomy prices: error: ") and "bad.toml" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert main(["prices", "--file", str(tmp_path / "absent.toml")]) == EXIT_INPUT


def test_exit_codes_are_documented_once_for_every_command() -> None:
    """``tokenomy --help`` lists the four exit codes; an unpriced model is 1 everywhere."""
    out = subprocess.run(
        [sys.executable, "-m", "tokenomy", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for code in (EXIT_OK, EXIT_UNPRICED, EXIT_INPUT, EXIT_REFUSED):
        assert f"\n  {code}  " in out
    assert main(["prices", "acme-nothing"]) == EXIT_UNPRICED
