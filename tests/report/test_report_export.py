"""JSON and CSV output: stable keys, Decimals as strings that round-trip exactly, sums that add up."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from decimal import Decimal

import pytest

from tokenomy import CostRecord
from tokenomy.exceptions import ConfigurationError
from tokenomy.report import Report, format_cost, format_usd

Sample = Callable[..., list[CostRecord]]


def _dec_sum(values: list[str]) -> Decimal:
    return sum((Decimal(v) for v in values if v != ""), Decimal(0))


def test_json_round_trips_decimals_as_strings(sample: Sample) -> None:
    """to_json writes every money value as a string that parses back to the exact Decimal."""
    records = sample()
    report = Report(records)
    doc = json.loads(report.to_json(by="feature"))
    assert list(doc) == [
        "schema",
        "totals",
        "by",
        "groups",
        "runs_total",
        "runs",
        "most_expensive",
        "prompt_cache",
        "retries",
        "unpriced_models",
        "unpriced",
        "estimated",
    ]
    assert isinstance(doc["totals"]["cost"], str)
    assert Decimal(doc["totals"]["cost"]) == report.totals.cost
    assert Decimal(doc["totals"]["saved"]) == report.totals.saved
    assert {k: Decimal(v) for k, v in doc["totals"]["cost_by_dimension"].items()} == (
        report.totals.cost_by_dimension
    )
    assert _dec_sum([g["cost"] for g in doc["groups"]]) == report.totals.cost
    assert _dec_sum([run["totals"]["cost"] for run in doc["runs"]]) == report.totals.cost
    call_costs = [c["cost"]["total"] for run in doc["runs"] for c in run["calls"] if c["cost"]]
    assert all(isinstance(v, str) for v in call_costs)
    assert _dec_sum(call_costs) == report.totals.cost
    assert doc == report.to_dict(by=("feature",))
    assert doc == json.loads(json.dumps(report.to_dict(by="feature")))


def test_json_marks_lower_bounds_and_names_unpriced_models(sample: Sample) -> None:
    """Totals and groups with unpriced calls say cost_complete false; the models are listed."""
    doc = Report(sample()).to_dict(by="feature")
    assert doc["totals"]["unpriced"] == 2 and doc["totals"]["cost_complete"] is False
    complete = {g["key"]["feature"]: g["cost_complete"] for g in doc["groups"]}
    assert complete == {"chat": False, "search": True}
    assert doc["unpriced_models"] == {"acme-llm-9000": 2}
    assert [r["cost"] for r in doc["unpriced"]] == [None, None]
    assert [r["name"] for r in doc["estimated"]] == ["reply"]
    assert [r["name"] for r in doc["most_expensive"]][:2] == ["answer", "plan"]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_groups_parse_and_add_up(sample: Sample) -> None:
    """Group CSV rows: one per (user, feature), counts and costs summing to the totals."""
    report = Report(sample())
    rows = _rows(report.to_csv("groups", by=("user", "feature")))
    assert len(rows) == 3
    assert {(r["key_user"], r["key_feature"]) for r in rows} == {
        ("alice", "search"),
        ("bob", "chat"),
        ("alice", "chat"),
    }
    assert sum(int(r["calls"]) for r in rows) == report.totals.count
    assert _dec_sum([r["cost"] for r in rows]) == report.totals.cost
    assert sum(int(r["input_tokens"]) for r in rows) == report.totals.usage.input
    for dim, value in report.totals.cost_by_dimension.items():
        assert _dec_sum([r[f"cost_{dim}"] for r in rows]) == value
    assert {r["cost_complete"] for r in rows} == {"true", "false"}


def test_csv_records_leave_unpriced_costs_empty(sample: Sample) -> None:
    """Record CSV: one row per record; unpriced costs are empty (not 0); priced ones add up."""
    records = sample()
    report = Report(records)
    rows = _rows(report.to_csv("records"))
    assert [r["record_id"] for r in rows] == [r.record_id for r in records]
    assert _dec_sum([r["cost"] for r in rows]) == report.totals.cost
    unpriced = [r for r in rows if r["priced"] == "false"]
    assert [r["cost"] for r in unpriced] == ["", ""]
    assert {r["model"] for r in unpriced} == {"acme-llm-9000"}
    assert json.loads(rows[0]["tags"])["feature"] == "search"


def test_csv_runs_add_up(sample: Sample) -> None:
    """Run CSV: one row per root run with its label; costs and calls sum to the totals."""
    report = Report(sample())
    rows = _rows(report.to_csv("runs"))
    assert [r["label"] for r in rows] == ["search-flow", "answer", "reply"]
    assert sum(int(r["calls"]) for r in rows) == report.totals.count
    assert _dec_sum([r["cost"] for r in rows]) == report.totals.cost
    assert sum(int(r["unpriced"]) for r in rows) == 2


def test_csv_rejects_an_unknown_kind(sample: Sample) -> None:
    """to_csv(kind=...) accepts only groups, records or runs."""
    with pytest.raises(ConfigurationError, match="groups"):
        Report(sample()).to_csv("calls")  # type: ignore[arg-type]


def test_money_formatting() -> None:
    """Display rounding: cents from $1, 4 places from a cent, 6 below; unpriced as a lower bound."""
    assert format_usd(Decimal("1234.565")) == "$1,234.57"
    assert format_usd(Decimal("0.012675")) == "$0.0127"
    assert format_usd(Decimal("0.000135")) == "$0.000135"
    assert format_usd(Decimal("0.0000000001")) == "<$0.000001"
    assert format_usd(Decimal(0)) == "$0.00"
    assert format_cost(Decimal("1.234"), 2) == "$1.23 + 2 unpriced"
    assert format_cost(Decimal("1.234")) == "$1.23"


def test_a_group_with_only_unpriced_calls_has_cost_null_not_zero() -> None:
    """JSON writes cost null (and CSV an empty cell, dimension cells too) for a group whose
    calls are all unpriced: a spreadsheet sum must not read it as $0. A mixed group keeps its
    lower-bound cost."""
    from tokenomy.pricing import Cost
    from tokenomy.usage import Usage

    records = [
        CostRecord(model="acme", usage=Usage(input=5), tags={"feature": "x"}),
        CostRecord(model="acme", usage=Usage(input=5), tags={"feature": "x"}),
        CostRecord(model="gpt-4o", usage=Usage(input=5), tags={"feature": "y"},
                   cost=Cost(Decimal("0.5"), {"input": Decimal("0.5")}), priced=True),
        CostRecord(model="acme", usage=Usage(input=5), tags={"feature": "y"}),
    ]  # fmt: skip
    report = Report(records)
    groups = {g["key"]["feature"]: g for g in report.to_dict(by="feature")["groups"]}
    assert groups["x"]["cost"] is None and groups["x"]["cost_complete"] is False
    assert groups["y"]["cost"] == "0.5"
    rows = {r["key_feature"]: r for r in csv.DictReader(io.StringIO(report.to_csv(by="feature")))}
    assert rows["x"]["cost"] == "" and rows["x"]["cost_input"] == ""
    assert rows["y"]["cost"] == "0.5"


def test_decimals_print_one_way_everywhere() -> None:
    """Every amount in report JSON and CSV is plain decimal text without exponent or trailing
    zeros, whatever form the Decimal had (``0.00000120``, ``1.2E-6``, ``8.0E-7``)."""
    import re

    from tokenomy.pricing import Cost
    from tokenomy.usage import Usage

    forms = [Decimal("0.00000120"), Decimal("1.2E-6"), Decimal("8.0E-7")]
    records = [
        CostRecord(model="m", usage=Usage(input=1), cost=Cost(v, {"input": v}), priced=True,
                   tags={"feature": f"f{i}"}, name="c")
        for i, v in enumerate(forms)
    ]  # fmt: skip
    report = Report(records)
    amounts: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and re.fullmatch(r"[-+0-9.eE]+", value):
            amounts.append(value)

    walk(json.loads(report.to_json(by="feature")))
    for kind in ("groups", "records", "runs"):
        for row in csv.DictReader(io.StringIO(report.to_csv(kind, by="feature"))):  # type: ignore[arg-type]
            amounts += [v for k, v in row.items() if k.startswith("cost_") or k == "cost"]
            amounts = [a for a in amounts if a and a not in ("true", "false")]
    assert "0.0000012" in amounts and "0.0000008" in amounts
    odd = [a for a in amounts if "e" in a.lower() or ("." in a and a.endswith("0"))]
    assert not odd
