"""examples/read_report.py runs as a script and prints spend per feature and the run tree."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from tokenomy import SQLiteLedger
from tokenomy.report import Report

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "read_report.py"


def test_read_report_example_runs(tmp_path: Path) -> None:
    """The script writes 3 calls to a SQLite ledger and prints their exact per-feature costs."""
    db = tmp_path / "ledger.db"
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), str(db)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    ).stdout
    with SQLiteLedger(db) as ledger:
        report = Report.from_ledger(ledger)
        assert report.totals.count == 3
        groups = {g.key["feature"]: g.cost for g in report.by("feature")}
    assert groups["search"] == Decimal("0.005885")  # gpt-4o $0.00575 + gpt-4o-mini $0.000135
    for feature, cost in groups.items():
        assert f"(exact: {cost})" in out and feature in out
    assert "by feature:" in out and "runs:" in out
    assert "└ plan gpt-4o " in out and "└ answer claude-sonnet-4-5 " in out
