"""The truncation rate per feature: calls cut by their output-token limit, counted in totals,
groups, JSON, CSV and the rendered table."""

from __future__ import annotations

import csv
import io
import json

from rich.console import Console

import tokenomy
from tokenomy import MaxTokens, MemoryLedger, ModelRequest, Pipeline, Report
from tokenomy.testing import MockSender

LONG = "The capital of France is Paris, which lies on the Seine in the north of the country."


def _ledger() -> MemoryLedger:
    """Feature "triage": 2 of 4 calls cut (task classify has a 3-token limit); feature "chat":
    none of 2."""
    ledger = MemoryLedger()
    pipeline = Pipeline([MaxTokens(400, per_task={"classify": 3})], ledger=ledger)
    send = MockSender(lambda r: LONG if r.tag("task") == "classify" else "Paris.")
    req = ModelRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "q"}])
    with tokenomy.track(feature="triage"):
        for task in ("classify", "classify", "other", "other"):
            pipeline.call(req.with_tags(task=task), send)
    with tokenomy.track(feature="chat"):
        for _ in range(2):
            pipeline.call(req, send)
    return ledger


def test_groups_count_truncated_calls_and_their_rate() -> None:
    """GroupTotals.truncated and truncation_rate per feature, and in the totals."""
    report = Report.from_ledger(_ledger())
    groups = {g.key["feature"]: g for g in report.by("feature")}
    assert (groups["triage"].truncated, groups["triage"].truncation_rate) == (2, 0.5)
    assert (groups["chat"].truncated, groups["chat"].truncation_rate) == (0, 0.0)
    assert report.totals.truncated == 2


def test_json_and_csv_carry_the_truncated_count() -> None:
    """The JSON groups and the CSV group rows have a truncated column."""
    report = Report.from_ledger(_ledger())
    data = json.loads(report.to_json(by="feature"))
    by_feature = {g["key"]["feature"]: g for g in data["groups"]}
    assert by_feature["triage"]["truncated"] == 2 and by_feature["chat"]["truncated"] == 0
    rows = {r["key_feature"]: r for r in csv.DictReader(io.StringIO(report.to_csv(by="feature")))}
    assert rows["triage"]["truncated"] == "2"


def test_the_rendered_table_shows_the_truncation_rate() -> None:
    """The spend-by-feature table has a Truncated column with the rate, and the totals say
    how many calls were cut."""
    console = Console(record=True, width=200)
    Report.from_ledger(_ledger()).render(console, by="feature")
    text = console.export_text()
    assert "Truncated" in text and "50.0%" in text
    assert "2 calls cut by max_tokens (33.3%)" in text
