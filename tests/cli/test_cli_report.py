"""``tokenomy report`` against real SQLite and PostgreSQL ledgers: exact totals, filters, formats."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import tokenomy
from services import PG_URL, drop_schema, require_postgres
from tokenomy import CostRecord, LedgerStore, PostgresLedger, SQLiteLedger, Usage
from tokenomy.cli import main
from tokenomy.cli._report import redact
from tokenomy.exceptions import UnknownModelPriceWarning

NOW = datetime.now(UTC).replace(microsecond=0)


def write_records(ledger: LedgerStore) -> list[CostRecord]:
    """An old run (8 days ago) and two recent ones, one with an unpriced call; time order."""
    out: list[CostRecord] = []

    def call(at: datetime, **kwargs: object) -> None:
        out.append(tokenomy.record_call(timestamp=at, **kwargs))  # type: ignore[arg-type]

    old, recent = NOW - timedelta(days=8), NOW - timedelta(minutes=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownModelPriceWarning)
        with tokenomy.track(feature="search", user="alice", run_name="old-search", ledger=ledger):
            call(old, model="gpt-4o", name="plan", latency_ms=700.0, usage=Usage(1000, 100))
        with tokenomy.track(feature="search", user="alice", run_name="search-flow", ledger=ledger):
            call(
                recent,
                model="gpt-4o",
                name="plan",
                latency_ms=800.0,
                usage=Usage(input=1200, output=300, cache_read=200),
            )
            call(
                recent + timedelta(seconds=1),
                model="gpt-4o-mini",
                name="rank",
                latency_ms=200.0,
                usage=Usage(input=500, output=100),
            )
        with tokenomy.track(feature="chat", user="bob", run_name="chat-turn", ledger=ledger):
            call(
                recent + timedelta(seconds=2),
                model="claude-sonnet-4-5",
                name="answer",
                latency_ms=1500.0,
                usage=Usage(input=2000, output=500, cache_read=1000, cache_write_5m=500),
            )
            call(
                recent + timedelta(seconds=3),
                model="acme-llm-9000",
                name="draft",
                latency_ms=400.0,
                usage=Usage(input=100, output=10),
            )
    ledger.flush()
    return out


def _cost(records: list[CostRecord]) -> Decimal:
    return sum((r.cost.total for r in records if r.cost is not None), Decimal(0))


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> tuple[str, list[CostRecord]]:
    """A SQLite ledger file holding the records; returns its path and the records."""
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as ledger:
        records = write_records(ledger)
    return str(path), records


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main(["report", *argv, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc, dict)
    return doc


def test_json_totals_match_the_records_exactly(
    sqlite_ledger: tuple[str, list[CostRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    """JSON totals and groups equal the Decimal sums of the records written to the file."""
    path, records = sqlite_ledger
    doc = _json(capsys, "--ledger", path, "--by", "feature")
    totals = doc["totals"]
    assert totals["count"] == 5 and totals["unpriced"] == 1
    assert totals["cost"] == str(Decimal(totals["cost"]))
    assert Decimal(totals["cost"]) == _cost(records)
    assert totals["cost_complete"] is False
    groups = {g["key"]["feature"]: g for g in doc["groups"]}
    assert Decimal(groups["search"]["cost"]) == _cost(records[:3])
    assert Decimal(groups["chat"]["cost"]) == _cost(records[3:])
    assert groups["chat"]["unpriced"] == 1
    assert doc["unpriced_models"] == {"acme-llm-9000": 1}
    assert [run["label"] for run in doc["runs"]] == ["old-search", "search-flow", "chat-turn"]


def test_since_where_by_top_and_runs(
    sqlite_ledger: tuple[str, list[CostRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    """--since drops the old run, --where keeps one tag value, --by two tags, --top/--runs limit."""
    path, records = sqlite_ledger
    doc = _json(capsys, "--ledger", path, "--since", "1d", "--top", "1", "--runs", "1")
    assert doc["totals"]["count"] == 4
    assert Decimal(doc["totals"]["cost"]) == _cost(records[1:])
    assert [r["name"] for r in doc["most_expensive"]] == ["answer"]
    assert [run["label"] for run in doc["runs"]] == ["chat-turn"]

    doc = _json(capsys, "--ledger", path, "--where", "user=alice", "--by", "user,feature")
    assert doc["by"] == ["user", "feature"]
    assert [g["key"] for g in doc["groups"]] == [{"user": "alice", "feature": "search"}]
    assert Decimal(doc["totals"]["cost"]) == _cost(records[:3])

    until = (NOW - timedelta(days=1)).isoformat()
    doc = _json(capsys, "--ledger", path, "--until", until)
    assert doc["totals"]["count"] == 1


def test_csv_tables_parse_and_add_up(
    sqlite_ledger: tuple[str, list[CostRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    """--format csv: groups, records and runs tables parse and their costs sum to the total."""
    path, records = sqlite_ledger
    total = _cost(records)
    for kind, rows_expected in (("groups", 4), ("records", 5), ("runs", 3)):
        assert main(["report", "--ledger", path, "--format", "csv", "--csv", kind]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert len(rows) == rows_expected, kind
        assert sum((Decimal(r["cost"]) for r in rows if r["cost"]), Decimal(0)) == total
    # default groups are by model: the unpriced model's row is flagged incomplete
    assert main(["report", "--ledger", path, "--format", "csv"]) == 0
    rows = {r["key_model"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows["acme-llm-9000"]["cost_complete"] == "false"
    assert rows["acme-llm-9000"]["unpriced"] == "1"
    assert rows["gpt-4o"]["calls"] == "2"


def test_table_shows_runs_models_and_lower_bound(
    sqlite_ledger: tuple[str, list[CostRecord]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Table output names run labels, models, the lower-bound total and the model to price."""
    monkeypatch.setenv("COLUMNS", "200")
    path, records = sqlite_ledger
    assert main(["report", "--ledger", path, "--by", "feature"]) == 0
    out = capsys.readouterr().out
    for text in ("old-search", "search-flow", "chat-turn", "gpt-4o-mini", "claude-sonnet-4-5"):
        assert text in out
    from tokenomy.report import format_cost

    assert format_cost(_cost(records), 1) in out
    assert "Spend by feature" in out
    assert "Add prices for: acme-llm-9000 (1 call)" in out


def test_ledger_from_env_and_missing_ledger(
    sqlite_ledger: tuple[str, list[CostRecord]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """TOKENOMY_LEDGER is the default; with neither it nor --ledger, exit 2 saying --ledger."""
    path, records = sqlite_ledger
    assert main(["report", "--format", "json"]) == 2
    assert "--ledger" in capsys.readouterr().err
    monkeypatch.setenv("TOKENOMY_LEDGER", path)
    doc = _json(capsys)
    assert doc["totals"]["count"] == len(records)
    assert main(["report", "--ledger", str(tmp_path / "absent.db")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_empty_ledger_exits_zero_with_no_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty ledger (or a filter matching nothing) exits 0 and says there are no records."""
    path = tmp_path / "empty.db"
    with SQLiteLedger(path) as ledger:
        ledger.flush()
    assert path.exists()
    assert main(["report", "--ledger", str(path)]) == 0
    assert "No records" in capsys.readouterr().out
    assert main(["report", "--ledger", str(path), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "No records" in captured.err
    doc = json.loads(captured.out)
    assert doc["totals"]["count"] == 0 and doc["totals"]["cost"] == "0"
    assert doc["groups"] == [] and doc["runs"] == []
    assert main(["report", "--ledger", str(path), "--where", "feature=x", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    assert "matching the filters" in captured.err
    assert captured.out.startswith("key_model,calls,cost,")


def test_subprocess_json(sqlite_ledger: tuple[str, list[CostRecord]]) -> None:
    """python -m tokenomy report --format json prints the exact total in a fresh process."""
    path, records = sqlite_ledger
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.pop("TOKENOMY_LEDGER", None)
    done = subprocess.run(
        [sys.executable, "-m", "tokenomy", "report", "--ledger", path, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert Decimal(doc["totals"]["cost"]) == _cost(records)
    assert doc["totals"]["count"] == 5


def test_piped_table_is_wide_enough_not_to_truncate(
    sqlite_ledger: tuple[str, list[CostRecord]],
) -> None:
    """Table output redirected to a file or pipe uses 160 columns, not rich's 80-column
    fallback, so column headers and costs are printed whole."""
    path, _ = sqlite_ledger
    env = {k: v for k, v in os.environ.items() if k not in ("TOKENOMY_LEDGER", "COLUMNS")}
    done = subprocess.run(
        [sys.executable, "-m", "tokenomy", "report", "--ledger", path, "--by", "model"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "Cache read" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) > 80


def test_redact_hides_passwords() -> None:
    """Messages never print a ledger URL's password."""
    assert redact("postgresql://u:secret@db:5432/app") == "postgresql://u:***@db:5432/app"
    assert redact("postgresql://u@db/app") == "postgresql://u@db/app"
    assert redact("/tmp/ledger.db") == "/tmp/ledger.db"


@pytest.fixture
def postgres_spec() -> Iterator[str]:
    """A fresh schema on the test server; fails instead of skipping when CI=true."""
    require_postgres()
    schema = f"tk_report_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}schema={schema}"
    finally:
        drop_schema(schema)


@pytest.mark.postgres
def test_report_from_postgres(postgres_spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The same records in PostgreSQL give the same exact JSON totals, groups and runs."""
    with tokenomy.open_ledger(postgres_spec) as ledger:
        assert isinstance(ledger, PostgresLedger)
        records = write_records(ledger)
    doc = _json(capsys, "--ledger", postgres_spec, "--by", "user")
    assert doc["totals"]["count"] == 5
    assert Decimal(doc["totals"]["cost"]) == _cost(records)
    users = {g["key"]["user"]: Decimal(g["cost"]) for g in doc["groups"]}
    assert users == {"alice": _cost(records[:3]), "bob": _cost(records[3:])}
    assert [run["label"] for run in doc["runs"]] == ["old-search", "search-flow", "chat-turn"]
    doc = _json(capsys, "--ledger", postgres_spec, "--since", "1d", "--where", "feature=chat")
    assert doc["totals"]["count"] == 2 and doc["totals"]["unpriced"] == 1


_NO_PYDANTIC_PROBE = """
import sys
from tokenomy.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "pydantic_core"))
print("PYDANTIC:" + ",".join(loaded) if loaded else "PYDANTIC-FREE", file=sys.stderr)
sys.exit(code)
"""

_FORMATS = (
    ("--format", "json"),
    ("--format", "table"),
    ("--format", "csv"),
    ("--format", "csv", "--csv", "runs"),
    ("--format", "csv", "--csv", "records"),
)


def _imports_no_pydantic(spec: str, *argv: str) -> str:
    """Run ``tokenomy report`` in a fresh process; fail when it imported pydantic, return the
    output."""
    env = {k: v for k, v in os.environ.items() if k != "TOKENOMY_LEDGER"}
    done = subprocess.run(
        [sys.executable, "-c", _NO_PYDANTIC_PROBE, "report", "--ledger", spec, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "PYDANTIC-FREE", done.stderr
    return done.stdout


@pytest.mark.parametrize("argv", _FORMATS, ids=lambda a: "-".join(a[1::2]))
def test_report_on_sqlite_imports_no_pydantic(
    sqlite_ledger: tuple[str, list[CostRecord]], argv: tuple[str, ...]
) -> None:
    """``tokenomy report`` on a SQLite ledger imports no pydantic in any format (its shown
    records are read as ``RecordView`` s: the record models cost most of the start-up), and
    prints the records: the JSON lists the runs' calls, the most expensive and the unpriced
    ones."""
    path, records = sqlite_ledger
    out = _imports_no_pydantic(path, *argv)
    if argv[1] == "json":
        doc = json.loads(out)
        assert Decimal(doc["totals"]["cost"]) == _cost(records)
        assert sum(len(run["calls"]) for run in doc["runs"]) == 5
        assert doc["most_expensive"] and doc["unpriced"][0]["model"] == "acme-llm-9000"


@pytest.mark.postgres
@pytest.mark.parametrize("argv", _FORMATS, ids=lambda a: "-".join(a[1::2]))
def test_report_on_postgres_imports_no_pydantic(postgres_spec: str, argv: tuple[str, ...]) -> None:
    """The same on a PostgreSQL ledger (only psycopg and the report's own modules load)."""
    with tokenomy.open_ledger(postgres_spec) as ledger:
        records = write_records(ledger)
    out = _imports_no_pydantic(postgres_spec, *argv)
    if argv[1] == "json":
        doc = json.loads(out)
        assert Decimal(doc["totals"]["cost"]) == _cost(records)
        assert [r["record_id"] for r in doc["unpriced"]] == [records[-1].record_id]


def test_report_shows_the_records_the_store_reads(
    sqlite_ledger: tuple[str, list[CostRecord]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The JSON's records (read as views) are the stored records' export dicts, and the
    report's public ``most_expensive()`` and ``runs()`` still return ``CostRecord`` s equal to
    the records written."""
    from tokenomy.report import Report
    from tokenomy.report._export import record_json

    path, records = sqlite_ledger
    doc = _json(capsys, "--ledger", path, "--top", "10")
    by_id = {r.record_id: r for r in records}
    assert [r["record_id"] for r in doc["most_expensive"]] == [
        r.record_id for r in sorted(
            (r for r in records if r.cost is not None), key=lambda r: -r.cost.total  # type: ignore[union-attr]
        )
    ]  # fmt: skip
    for shown in doc["most_expensive"] + [c for run in doc["runs"] for c in run["calls"]]:
        want = record_json(by_id[shown["record_id"]])
        assert {k: v for k, v in shown.items() if k not in ("depth", "under_run")} == want
    with SQLiteLedger(path, read_only=True) as store:
        report = Report.from_ledger(store)
        top = report.most_expensive(10)
        assert all(type(r) is CostRecord for r in top)
        assert top == [by_id[r.record_id] for r in top]
        calls = [c for run in report.runs() for c in run.calls]
        assert all(type(c) is CostRecord for c in calls)
        assert sorted(calls, key=lambda c: c.record_id) == sorted(
            records, key=lambda c: c.record_id
        )


def test_parser_of_one_command_only_imports_that_command() -> None:
    """``tokenomy report ...`` builds only the report's parser (the other command modules are
    not imported); each command module registers the command named as it is, so the full
    parser (``tokenomy --help``, an unknown command) lists them all."""
    import argparse
    import importlib

    from tokenomy.cli import _COMMAND_MODULES, build_parser

    for name in _COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(f"tokenomy.cli.{name}").register(sub)
        assert list(sub.choices) == [name[1:]]
    one = build_parser("report")
    sub_action = next(a for a in one._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub_action.choices) == ["report"]
    full = build_parser("no-such-command")
    sub_action = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub_action.choices) == [n[1:] for n in _COMMAND_MODULES]
    env = {k: v for k, v in os.environ.items() if k != "TOKENOMY_LEDGER"}
    probe = (
        "import sys\nfrom tokenomy.cli import main\n"
        "try:\n    main(['report', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('tokenomy.cli.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("usage: tokenomy report [-h] [--ledger LEDGER]")
    assert lines[-1] == "['tokenomy.cli._common', 'tokenomy.cli._report']"
