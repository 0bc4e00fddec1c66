"""The per-run report: one entry per root run, labelled, in time order, nested by parent ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import tokenomy
from tokenomy import CostRecord, MemoryLedger, Usage
from tokenomy.report import Report

T0 = datetime(2026, 1, 1, tzinfo=UTC)

Sample = Callable[..., list[CostRecord]]


def test_one_run_per_root_with_labels_and_time_order(sample: Sample) -> None:
    """Each track() root is a run: labelled by run_name, else its first call's name, else its id."""
    records = sample()
    runs = Report(records).runs()
    assert [run.label for run in runs] == ["search-flow", "answer", "reply"]
    assert [len(run.calls) for run in runs] == [3, 3, 2]
    assert sum(len(run.calls) for run in runs) == len(records)
    for run in runs:
        assert {r.root_run_id for r in run.calls} == {run.root_run_id}
        stamps = [r.timestamp for r in run.calls]
        assert stamps == sorted(stamps)
        finished = [r.timestamp + timedelta(milliseconds=r.latency_ms or 0) for r in run.calls]
        assert run.start == stamps[0] and run.end == max(finished)
        assert run.duration_ms == (run.end - run.start) / timedelta(milliseconds=1)
        assert run.cost == sum((r.cost.total for r in run.calls if r.cost), Decimal(0))
    assert runs[0].start == records[0].timestamp
    assert [c.name for c in runs[0].calls] == ["plan", "rank", "embed"]
    assert runs[1].unpriced == 1 and runs[1].cache_hits == 1
    assert runs[0].latency_ms == 1050.0
    assert runs[0].totals.usage.cache_read == 200
    assert runs[0].totals.cost_by_dimension["cache_read"] == Decimal("0.00025")


def test_unlabelled_run_falls_back_to_its_id() -> None:
    """A run with no run_name tag and nameless calls is labelled "run <id prefix>"."""
    ledger = MemoryLedger()
    with tokenomy.track(ledger=ledger) as t:
        tokenomy.record_call(model="gpt-4o-mini", usage=Usage(input=10, output=1))
    (run,) = Report(t.records).runs()
    assert run.label == f"run {t.run_id[:8]}"


def test_nesting_follows_parent_run_ids() -> None:
    """Calls nest under the call whose run_id is their parent_run_id; depth-first, oldest first."""
    ledger = MemoryLedger()
    root = "root-run"

    def call(name: str, run_id: str, parent: str, second: int) -> None:
        tokenomy.record_call(
            model="gpt-4o-mini",
            usage=Usage(input=100, output=10),
            name=name,
            run_id=run_id,
            parent_run_id=parent,
            root_run_id=root,
            timestamp=T0 + timedelta(seconds=second),
            ledger=ledger,
            tags={"run_name": "agent"},
        )

    call("agent-step", "a", root, 0)
    call("tool-llm", "b", "a", 1)
    call("deep", "c", "b", 2)
    call("final", "d", root, 3)
    call("via-chain", "e", "some-chain-run", 4)  # parent is a run with no call: under it
    call("late-child", "f", "a", 5)
    (run,) = Report(ledger.query()).runs()
    assert run.label == "agent"
    assert [c.name for c in run.calls] == [
        "agent-step",
        "tool-llm",
        "deep",
        "final",
        "via-chain",
        "late-child",
    ]
    tree = [(c.record.name, c.depth) for c in run.tree()]
    assert tree == [
        ("agent-step", 1),
        ("tool-llm", 2),
        ("deep", 3),
        ("late-child", 2),
        ("final", 1),
        ("via-chain", 2),
    ]
    assert [c.group for c in run.tree()][-1] == "some-chain-run"
    calls = run.to_json_dict()["calls"]
    assert [(c["name"], c["parent_run_id"], c["depth"]) for c in calls][:3] == [
        ("agent-step", root, 1),
        ("tool-llm", "a", 2),
        ("deep", "b", 3),
    ]


def test_parent_cycle_does_not_hang_or_drop_calls() -> None:
    """Malformed parent ids forming a cycle still list every call once."""
    ledger = MemoryLedger()
    for i, (rid, parent) in enumerate([("x", "y"), ("y", "x")]):
        tokenomy.record_call(
            model="gpt-4o-mini",
            usage=Usage(input=1),
            name=rid,
            run_id=rid,
            parent_run_id=parent,
            root_run_id="r",
            ledger=ledger,
            timestamp=T0 + timedelta(seconds=i),
        )
    (run,) = Report(ledger.query()).runs()
    assert sorted(c.record.name or "" for c in run.tree()) == ["x", "y"]


def test_runs_limit_keeps_the_latest(sample: Sample) -> None:
    """runs(limit) keeps the most recently started runs, still oldest first."""
    report = Report(sample())
    assert [run.label for run in report.runs(2)] == ["answer", "reply"]
    assert report.runs(0) == []


def test_one_call_run_ends_at_its_start_plus_its_duration() -> None:
    """A run of one 800 ms call ends 800 ms after it starts (not at its start), in JSON too."""
    ledger = MemoryLedger()
    with tokenomy.track(ledger=ledger) as t:
        tokenomy.record_call(
            model="gpt-4o-mini", usage=Usage(input=10, output=1), latency_ms=800.0, timestamp=T0
        )
    (run,) = Report(t.records).runs()
    assert run.start == T0 and run.end == T0 + timedelta(milliseconds=800)
    assert run.duration_ms == 800.0
    doc = run.to_json_dict()
    assert doc["end"] == (T0 + timedelta(milliseconds=800)).isoformat()
    assert doc["duration_ms"] == 800.0


def test_a_call_inside_a_tool_inside_an_agent_is_drawn_under_the_tool() -> None:
    """The agent's own model call sits at depth 1; the model call made inside a tool (a run
    with no record of its own) sits at depth 2 under that tool's group line, not beside it."""
    from rich.console import Console

    ledger = MemoryLedger()
    common = {"model": "gpt-4o-mini", "usage": Usage(input=10, output=1), "root_run_id": "agent"}
    tokenomy.record_call(name="plan", run_id="m1", parent_run_id="agent", timestamp=T0,
                         ledger=ledger, **common)  # type: ignore[arg-type]  # fmt: skip
    tokenomy.record_call(name="inner", run_id="m2", parent_run_id="tool-search-1",
                         timestamp=T0 + timedelta(seconds=1), ledger=ledger, **common)  # type: ignore[arg-type]  # fmt: skip
    tokenomy.record_call(name="final", run_id="m3", parent_run_id="agent",
                         timestamp=T0 + timedelta(seconds=2), ledger=ledger, **common)  # type: ignore[arg-type]  # fmt: skip
    (run,) = Report(ledger.query()).runs()
    assert [(c.record.name, c.depth, c.group) for c in run.tree()] == [
        ("plan", 1, None),
        ("inner", 2, "tool-search-1"),
        ("final", 1, None),
    ]
    console = Console(width=160, record=True)
    Report(ledger.query()).render(console)
    lines = console.export_text().splitlines()
    tool = next(i for i, line in enumerate(lines) if "(run tool-sea)" in line)
    inner = next(i for i, line in enumerate(lines) if "└ inner" in line)
    assert inner == tool + 1
    assert lines[inner].index("└ inner") > lines[tool].index("└ (run")
