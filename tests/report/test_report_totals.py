"""Report totals, groups, call-outs: exact Decimal sums over real priced records."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import tokenomy
from tokenomy import CostRecord, MemoryLedger, RecordFilter, Usage
from tokenomy.report import Report

Sample = Callable[..., list[CostRecord]]


def test_totals_are_exact_sums_of_the_records(sample: Sample) -> None:
    """Totals equal the Decimal sums of the records: cost, parts, tokens, counts, cache, latency."""
    records = sample()
    t = Report(records).totals
    priced = [r for r in records if r.cost is not None]
    assert t.count == len(records) == 8
    assert t.cost == sum((r.cost.total for r in priced if r.cost), Decimal(0))
    assert isinstance(t.cost, Decimal)
    parts: dict[str, Decimal] = {}
    for r in priced:
        assert r.cost is not None
        for k, v in r.cost.parts.items():
            parts[k] = parts.get(k, Decimal(0)) + v
    assert t.cost_by_dimension == parts
    assert sum(t.cost_by_dimension.values(), Decimal(0)) == t.cost
    usage = Usage()
    for r in records:
        usage = usage + r.usage
    assert t.usage.counts() == usage.counts()
    assert (t.usage.input, t.usage.cache_read, t.usage.cache_write_5m) == (5180, 1200, 500)
    assert t.unpriced == 2
    assert t.estimated == 1
    assert t.cache_hits == 1
    hit = next(r for r in records if r.is_cache_hit)
    assert hit.cache.saved is not None and t.saved == hit.cache.saved > 0
    # nearest-rank over [5, 50, 200, 300, 400, 450, 800, 1500]
    assert (t.latency_p50_ms, t.latency_p95_ms, t.latency_p99_ms) == (300.0, 1500.0, 1500.0)


def test_a_known_call_costs_its_hand_computed_price(sample: Sample) -> None:
    """gpt-4o, 1000 plain + 200 cached input and 300 output tokens, costs exactly $0.00575."""
    report = Report(sample())
    plan = next(r for r in report.records if r.name == "plan")
    assert plan.total_cost == Decimal("0.00575")


def test_by_feature_partitions_the_records_sorted_by_cost(sample: Sample) -> None:
    """by("feature") groups cover every record once; their costs add up to the total, largest first."""
    records = sample()
    report = Report(records)
    groups = report.by("feature")
    assert {g.key["feature"] for g in groups} == {"search", "chat"}
    assert sum(g.count for g in groups) == len(records)
    assert sum((g.cost for g in groups), Decimal(0)) == report.totals.cost
    assert sum(g.unpriced for g in groups) == report.totals.unpriced
    assert [g.cost for g in groups] == sorted((g.cost for g in groups), reverse=True)
    for g in groups:
        mine = [r for r in records if r.tags.get("feature") == g.key["feature"]]
        assert g.count == len(mine)
        assert g.cost == sum((r.cost.total for r in mine if r.cost), Decimal(0))
    chat = next(g for g in groups if g.key["feature"] == "chat")
    assert chat.unpriced == 2


def test_by_two_tags_and_by_model(sample: Sample) -> None:
    """by("user", "feature") keys on both tags (also given as "user,feature"); by("model") on model."""
    report = Report(sample())
    pairs = {(g.key["user"], g.key["feature"]): g.count for g in report.by("user", "feature")}
    assert pairs == {("alice", "search"): 3, ("bob", "chat"): 3, ("alice", "chat"): 2}
    assert [g.key for g in report.by("user,feature")] == [
        g.key for g in report.by("user", "feature")
    ]
    models = {g.key["model"]: g for g in report.by("model")}
    assert models["acme-llm-9000"].unpriced == 2
    assert models["acme-llm-9000"].cost == 0
    assert models["gpt-4o"].count == 2 and models["gpt-4o"].cache_hits == 1
    assert report.by("model")[0].key == {"model": "claude-sonnet-4-5"}


def test_records_without_the_tag_fall_in_a_none_group(sample: Sample) -> None:
    """A tag only some records carry groups the others under None, never dropping them."""
    report = Report(sample())
    steps = {g.key["step"]: g.count for g in report.by("step")}
    assert steps == {"embed": 1, None: 7}


def test_most_expensive_unpriced_and_estimated(sample: Sample) -> None:
    """most_expensive ranks priced calls by cost; unpriced() and estimated() list the call-outs."""
    records = sample()
    report = Report(records)
    top = report.most_expensive(3)
    assert [r.name for r in top] == ["answer", "plan", "rank"]
    costs = [r.cost.total for r in records if r.cost]
    assert [r.total_cost for r in top] == sorted(costs, reverse=True)[:3]
    assert report.most_expensive(0) == []
    assert [r.model for r in report.unpriced()] == ["acme-llm-9000", "acme-llm-9000"]
    assert report.unpriced_models() == {"acme-llm-9000": 2}
    assert [r.name for r in report.estimated()] == ["reply"]


def test_tracker_report_and_from_ledger_match(sample: Sample) -> None:
    """tracker.report() covers the block's records; from_ledger(where=...) filters the store."""
    ledger = MemoryLedger()
    with tokenomy.track(ledger=ledger) as tracker:
        records = sample(ledger)
    assert tracker.report().totals == Report(records).totals
    chat = Report.from_ledger(ledger, where=RecordFilter(tags={"feature": "chat"}))
    assert len(chat) == 5
    assert chat.totals.cost == sum(
        (r.cost.total for r in records if r.cost and r.tags["feature"] == "chat"), Decimal(0)
    )


def test_empty_report() -> None:
    """No records: zero totals, no groups, runs or call-outs (and no crash)."""
    report = Report([])
    assert not report
    assert report.totals.count == 0 and report.totals.cost == Decimal(0)
    assert report.by("feature") == []
    assert report.runs() == []
    assert report.most_expensive(5) == []
    assert report.unpriced() == [] and report.estimated() == []
