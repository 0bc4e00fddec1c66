"""``tokenomy review`` on the command line: JSON for machines, exit codes (2 unusable input,
3 refused), never replacing a file that is not an earlier review, a read that writes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import tokenomy
from tokenomy import SQLiteLedger, Usage
from tokenomy.cli import main

BASE = datetime(2026, 9, 1, tzinfo=UTC)
PERIOD = ["--since", "2026-09-01", "--until", "2026-10-01"]


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "l.db"
    with SQLiteLedger(path) as store:
        for i in range(60):
            tokenomy.store_call(
                model="gpt-4o", usage=Usage(input=1000, output=100), ledger=store,
                tags={"feature": f"f{i % 3}", "user": f"u{i % 4}"},
                timestamp=BASE + timedelta(hours=i * 7),
            )
    return path


def test_json_review(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json: every section, money as decimal strings, the scenario applied; the
    ledger file is unchanged by the read."""
    before = ledger.read_bytes()
    assert main(["review", "--ledger", str(ledger), *PERIOD, "--format", "json",
                 "--scenario", "traffic x2"]) == 0  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert doc["totals"]["calls"] == 60
    assert {g["key"] for g in doc["by_feature"]} == {"f0", "f1", "f2"}
    assert doc["scenarios"][0]["scenario"] == "traffic x2"
    assert set(doc) >= {"daily", "forecast", "recommendations", "anomalies", "pareto",
                        "latency_by_model", "prompt_cache", "response_cache", "retries"}  # fmt: skip
    assert ledger.read_bytes() == before


def test_html_never_replaces_a_foreign_file(ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--html onto a file that is not an earlier review: exit 3, file kept; --force replaces
    it; an earlier review is replaced without --force."""
    out = tmp_path / "notes.html"
    out.write_text("my notes")
    assert main(["review", "--ledger", str(ledger), *PERIOD, "--html", str(out)]) == 3
    assert out.read_text() == "my notes"
    assert "--force" in capsys.readouterr().err
    assert main(["review", "--ledger", str(ledger), *PERIOD, "--html", str(out), "--force"]) == 0
    assert out.read_text().startswith("<!-- tokenomy review -->")
    assert main(["review", "--ledger", str(ledger), *PERIOD, "--html", str(out)]) == 0


def test_unusable_input_is_exit_2(ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario it cannot read, or a ledger that does not exist: one line, exit 2."""
    assert main(["review", "--ledger", str(ledger), "--scenario", "be cheaper"]) == 2
    assert "traffic x3" in capsys.readouterr().err
    assert main(["review", "--ledger", str(tmp_path / "none.db")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]


def test_prometheus_file(ledger: Path, tmp_path: Path) -> None:
    """--prometheus FILE writes the exposition text of the period."""
    from prometheus_client.parser import text_string_to_metric_families

    out = tmp_path / "metrics.prom"
    assert main(["review", "--ledger", str(ledger), *PERIOD, "--prometheus", str(out)]) == 0
    names = {f.name for f in text_string_to_metric_families(out.read_text())}
    assert {"tokenomy_spend_usd", "tokenomy_tokens", "tokenomy_calls"} <= names
