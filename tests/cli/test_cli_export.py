"""``tokenomy export``: ledger records out as JSON Lines, exactly, and the shared CLI options."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from services import PG_URL, drop_schema, require_postgres
from tokenomy.cli import main
from tokenomy.cli._common import (
    CommandError,
    add_ledger_arguments,
    parse_tag,
    parse_time,
    record_filter,
)
from tokenomy.ledger import CacheInfo, CostRecord, PostgresLedger, RecordFilter, SQLiteLedger
from tokenomy.pricing import Cost
from tokenomy.usage import Usage

NOW = datetime.now(UTC)


def sample_records() -> list[CostRecord]:
    """Records with awkward values: tiny and trailing-zero Decimals, unicode tags, no price."""
    return [
        CostRecord(
            record_id="a-priced",
            run_id="run-1",
            parent_run_id="root-1",
            root_run_id="root-1",
            timestamp=NOW - timedelta(days=3),
            provider="openai",
            model="gpt-4o",
            usage=Usage(input=1200, output=300, cache_read=1000, reasoning=100),
            cost=Cost(
                Decimal("0.00385000"),
                {
                    "input": Decimal("0.0005"),
                    "cache_read": Decimal("0.00125"),
                    "output": Decimal("0.0021000"),
                },
            ),
            priced=True,
            latency_ms=812.25,
            tags={"feature": "search", "user": "ada ✓"},
        ),
        CostRecord(
            record_id="b-unpriced",
            timestamp=(NOW - timedelta(hours=2)).astimezone(timezone(timedelta(hours=-7))),
            provider="acme",
            model="mystery-model",
            usage=Usage(input=10, output=2, estimated=True),
            estimated=True,
            tags={"feature": "chat"},
        ),
        CostRecord(
            record_id="c-cache-hit",
            timestamp=NOW - timedelta(minutes=30),
            provider="anthropic",
            model="claude-sonnet-4",
            cost=Cost(Decimal("0"), {}),
            priced=True,
            cache=CacheInfo(outcome="semantic", saved=Decimal("0.0000001"), similarity=0.93),
            tags={"feature": "search", 'odd "key"': "x=y"},
            usable=False,
        ),
    ]


def parse_lines(text: str) -> list[CostRecord]:
    """The records of a JSONL text (every line must be one JSON object)."""
    return [CostRecord.from_json_dict(json.loads(line)) for line in text.splitlines() if line]


def assert_exact(got: list[CostRecord], want: list[CostRecord]) -> None:
    """Same ids, same Decimals (value and string form), same tags and every other field."""
    assert [r.record_id for r in got] == [r.record_id for r in want]
    for g, w in zip(got, want, strict=True):
        assert g == w
        assert g.to_json_dict() == w.to_json_dict()
        if w.cost is not None:
            assert g.cost is not None and str(g.cost.total) == str(w.cost.total)


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Path:
    """A SQLite ledger file holding the sample records."""
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as store:
        store.add_many(sample_records())
    return path


@pytest.fixture
def pg_spec() -> Iterator[str]:
    """A PostgreSQL ledger URL (own schema, dropped after) holding the sample records."""
    require_postgres()
    schema = f"tkn_export_{uuid.uuid4().hex[:10]}"
    with PostgresLedger(PG_URL, schema=schema) as store:
        store.add_many(sample_records())
    try:
        yield f"{PG_URL}?schema={schema}"
    finally:
        drop_schema(schema)


def test_sqlite_records_round_trip_exactly(
    sqlite_ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every record written to SQLite comes back from export equal, oldest first."""
    assert main(["export", "--ledger", str(sqlite_ledger)]) == 0
    out = capsys.readouterr().out
    assert_exact(parse_lines(out), sample_records())


def test_postgres_records_round_trip_exactly(
    pg_spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every record written to PostgreSQL comes back from export equal (NUMERIC kept exact)."""
    assert main(["export", "--ledger", pg_spec]) == 0
    assert_exact(parse_lines(capsys.readouterr().out), sample_records())


def test_line_shape(sqlite_ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each line: usage as six counts, cost as total + dimensions in strings, or null."""
    main(["export", "--ledger", str(sqlite_ledger)])
    first, unpriced, hit = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert first["usage"] == {
        "input": 1200,
        "output": 300,
        "cache_read": 1000,
        "cache_write_5m": 0,
        "cache_write_1h": 0,
        "reasoning": 100,
    }
    assert first["cost"] == {
        "total": "0.00385000",
        "input": "0.0005",
        "cache_read": "0.00125",
        "output": "0.0021000",
    }
    assert first["priced"] is True and first["latency_ms"] == 812.25
    assert first["tags"] == {"feature": "search", "user": "ada ✓"}
    assert (first["run_id"], first["parent_run_id"], first["root_run_id"]) == (
        "run-1",
        "root-1",
        "root-1",
    )
    assert unpriced["cost"] is None and unpriced["priced"] is False
    assert unpriced["estimated"] is True
    assert hit["cache"] == {"outcome": "semantic", "saved": "1E-7", "similarity": 0.93}


def test_filters_select_records(sqlite_ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--since (duration), --until (ISO), --where tag=value and --model narrow the export."""

    def ids(*argv: str) -> list[str]:
        assert main(["export", "--ledger", str(sqlite_ledger), *argv]) == 0
        return [r.record_id for r in parse_lines(capsys.readouterr().out)]

    assert ids("--since", "1d") == ["b-unpriced", "c-cache-hit"]
    assert ids("--until", (NOW - timedelta(hours=1)).isoformat()) == ["a-priced", "b-unpriced"]
    assert ids("--where", "feature=search") == ["a-priced", "c-cache-hit"]
    assert ids("--where", "feature=search", "--where", 'odd "key"=x=y') == ["c-cache-hit"]
    assert ids("--model", "gpt-4o", "--model", "mystery-model") == ["a-priced", "b-unpriced"]
    assert ids("--provider", "anthropic") == ["c-cache-hit"]
    assert ids("--where", "feature=none") == []


def test_output_file_and_env_ledger(
    sqlite_ledger: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without --ledger TOKENOMY_LEDGER is read; -o writes the file and reports the count."""
    monkeypatch.setenv("TOKENOMY_LEDGER", str(sqlite_ledger))
    target = tmp_path / "out.jsonl"
    assert main(["export", "-o", str(target)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "exported 3 record(s)" in captured.err
    assert_exact(parse_lines(target.read_text(encoding="utf-8")), sample_records())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_no_ledger_exits_2_and_says_pass_ledger(capsys: pytest.CaptureFixture[str]) -> None:
    """Neither --ledger nor TOKENOMY_LEDGER: exit 2 with a message naming --ledger."""
    assert main(["export"]) == 2
    err = capsys.readouterr().err
    assert "--ledger" in err and "TOKENOMY_LEDGER" in err


def test_missing_file_is_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exporting a path that does not exist exits 2 and does not create a ledger there."""
    path = tmp_path / "nope.db"
    assert main(["export", "--ledger", str(path)]) == 2
    assert "no ledger at" in capsys.readouterr().err
    assert not path.exists()


def test_foreign_file_exits_2_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not a ledger: exit 2 with LedgerFileError's message, bytes unchanged."""
    path = tmp_path / "notes.db"
    path.write_bytes(b"not a database at all" * 10)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert main(["export", "--ledger", str(path)]) == 2
    assert "not a SQLite database" in capsys.readouterr().err
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_bad_since_is_an_argparse_error(sqlite_ledger: Path) -> None:
    """An unreadable --since exits 2 through argparse (usage message)."""
    with pytest.raises(SystemExit) as info:
        main(["export", "--ledger", str(sqlite_ledger), "--since", "last tuesday"])
    assert info.value.code == 2


def test_export_through_a_subprocess(sqlite_ledger: Path) -> None:
    """python -m tokenomy export writes the same JSONL on a real stdout (UTF-8)."""
    env = {k: v for k, v in os.environ.items() if k != "TOKENOMY_LEDGER"}
    result = subprocess.run(
        [sys.executable, "-m", "tokenomy", "export", "--ledger", f"sqlite:///{sqlite_ledger}"],
        capture_output=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert_exact(parse_lines(result.stdout.decode("utf-8")), sample_records())


# -- the shared option helpers (tokenomy.cli._common) ----------------------------------------


def test_parse_time_forms() -> None:
    """Durations count back from now; ISO dates/times without a zone are UTC."""
    now = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    assert parse_time("1h", now=now) == now - timedelta(hours=1)
    assert parse_time("90m", now=now) == now - timedelta(minutes=90)
    assert parse_time("7d", now=now) == now - timedelta(days=7)
    assert parse_time("2w", now=now) == now - timedelta(weeks=2)
    assert parse_time("1.5h", now=now) == now - timedelta(minutes=90)
    assert parse_time("2025-03-01") == datetime(2025, 3, 1, tzinfo=UTC)
    assert parse_time("2025-03-01T08:30:00Z") == datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    assert parse_time("2025-03-01T08:30") == datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    plus2 = parse_time("2025-03-01T08:30+02:00")
    assert plus2 == datetime(2025, 3, 1, 6, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("yesterday")


def test_parse_tag_and_conflicts() -> None:
    """tag=value splits at the first '='; a tag given two different values is refused."""
    assert parse_tag("feature=a=b") == ("feature", "a=b")
    assert parse_tag("empty=") == ("empty", "")
    with pytest.raises(ValueError):
        parse_tag("novalue")
    with pytest.raises(ValueError):
        parse_tag("=x")
    parser = argparse.ArgumentParser()
    add_ledger_arguments(parser)
    with pytest.raises(CommandError):
        record_filter(parser.parse_args(["--where", "a=1", "--where", "a=2"]))
    with pytest.raises(CommandError, match="not before"):
        record_filter(parser.parse_args(["--since", "1h", "--until", "2h"]))


def test_record_filter_from_options() -> None:
    """The options become one RecordFilter; no options mean no filter."""
    parser = argparse.ArgumentParser()
    add_ledger_arguments(parser)
    assert record_filter(parser.parse_args([])) is None
    f = record_filter(
        parser.parse_args(
            ["--where", "a=1", "--model", "m", "--provider", "p", "--since", "2025-01-01"]
        )
    )
    assert f == RecordFilter(
        tags={"a": "1"},
        models=["m"],
        providers=["p"],
        since=datetime(2025, 1, 1, tzinfo=UTC),
    )
