"""The rich rendering: totals, runs with indented calls, grouped spend, top calls, warnings."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

from rich.console import Console

from tokenomy import CostRecord
from tokenomy.report import Report, format_cost


def _text(report: Report, **kwargs: object) -> str:
    console = Console(record=True, width=200)
    report.render(console, **kwargs)  # type: ignore[arg-type]
    return console.export_text()


def test_render_shows_runs_models_groups_and_totals(
    sample: Callable[..., list[CostRecord]],
) -> None:
    """The tables name every run label and model, the lower-bound total, and grouped spend."""
    report = Report(sample())
    text = _text(report, by=("feature",))
    for label in ("search-flow", "answer", "reply"):
        assert label in text
    for model in ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "text-embedding-3-small"):
        assert model in text
    t = report.totals
    assert format_cost(t.cost, t.unpriced) in text
    assert "+ 2 unpriced" in text
    assert "Spend by feature" in text
    assert "Most expensive calls" in text
    chat = next(g for g in report.by("feature") if g.key["feature"] == "chat")
    assert format_cost(chat.cost, 2) in text
    # calls are indented under their run; the embedding call made in a nested track() block
    # (a run with no call of its own) is drawn under that block's line
    assert "  └ plan" in text and "    └ embed" in text and "  └ (run " in text


def test_render_warns_about_unpriced_and_estimated(sample: Callable[..., list[CostRecord]]) -> None:
    """A warning panel names the models to add prices for and the estimated calls."""
    text = _text(Report(sample()))
    assert "Incomplete costs" in text
    assert "Add prices for: acme-llm-9000 (2 calls)" in text
    assert "1 call with estimated usage" in text
    assert "unpriced" in text.split("Runs")[1]  # the unpriced call's own cost cell


def test_render_without_warnings_has_no_panel(sample: Callable[..., list[CostRecord]]) -> None:
    """Fully priced, reported usage: no warning panel."""
    records = [r for r in sample() if r.cost is not None and not r.usage.estimated]
    text = _text(Report(records))
    assert "Incomplete costs" not in text
    assert "unpriced" not in text.replace("Unpriced / estimated", "")


def test_render_empty_report() -> None:
    """An empty report says there are no records."""
    assert "No records" in _text(Report([]))


def test_importing_report_does_not_import_rich() -> None:
    """tokenomy.report imports rich only when rendering."""
    code = "import json, sys; import tokenomy.report; print(json.dumps('rich' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) is False


def test_names_stay_whole_at_120_columns(sample: Callable[..., list[CostRecord]]) -> None:
    """On a 120-column console every run label, call name and model is printed whole (never
    cut to "…" nor wrapped across lines): the secondary columns make room."""
    from rich.console import Console

    records = sample()
    console = Console(width=120, record=True)
    Report(records).render(console, by=("feature", "user"))
    text = console.export_text()
    lines = text.splitlines()
    assert all(len(line) <= 120 for line in lines)
    assert "…" not in text
    names = {r.name for r in records if r.name} | {r.model for r in records}
    names |= {"search-flow", "answer", "reply"}
    for name in names:
        assert any(f" {name} " in line for line in lines), name
