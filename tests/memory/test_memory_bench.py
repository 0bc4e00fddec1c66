"""The memory benchmark runs quickly (a short session, few read repetitions) and its rows hold
what the full run reports."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

from shared_data import shared_file

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_memory.py"


def test_benchmark_rows() -> None:
    """run_session gives a row per strategy (full, window, summarising sliding and with
    evict_to, trim_messages, ChatMemoryBuffer) with tokenomy's windows under the budget at every reported turn and the
    summarising memory's summary calls counted; run_reads gives a row per reader with ratios
    against trim_messages (1.0 for itself) and a verdict for each tokenomy reader; the cost
    breakdown columns (input cached, output $) are there, the replies costing the same."""
    path = shared_file("chat/hh-rlhf-harmless.jsonl")
    spec = importlib.util.spec_from_file_location("bench_memory", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    session = bench.run_session(12, path=path, budget_share=0.4)
    assert [r["strategy"] for r in session] == [
        "full history",
        "tokenomy window",
        "tokenomy summarising (default: evict_to=0.5)",
        "tokenomy summarising, evict_to=None (one turn per read)",
        "LangChain trim_messages",
        "LlamaIndex ChatMemoryBuffer",
    ]
    full, window, chunked, sliding = session[0], session[1], session[2], session[3]
    budget = full["budget"]
    for row in (window, chunked, sliding):
        assert row["input@10"] <= budget and row["input@12"] <= budget
        assert row["input total"] < full["input total"]
    assert full["summary calls"] == window["summary calls"] == 0 < sliding["summary calls"]
    assert 0 < chunked["summary calls"] <= sliding["summary calls"]
    assert float(chunked["summary cost $"]) > 0
    assert full["fewer input@12"] == "0%" and window["met"] in ("yes", "no")
    # the cost breakdown: every strategy gets the same replies; cached shares are percentages
    assert len({r["output $"] for r in session}) == 1 and float(full["output $"]) > 0
    assert all(r["input cached"].endswith("%") for r in session)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reads = bench.run_reads(40, 500, repetitions=2, path=path)
    assert reads[0]["case"].startswith("LangChain trim_messages")
    assert reads[0]["x trim_messages"] == "1.000"
    ours = [r for r in reads if r["case"].startswith("tokenomy")]
    assert len(ours) == 3 and all(r["met"] in ("yes", "no") for r in ours)


def test_spread_rows() -> None:
    """run_spread gives, per budget share, one row per session and summarising memory, then
    one range row per memory whose verdict counts the sessions meeting the input goal and the
    cost goal, billed and at list price; a smaller budget never costs more."""
    shared_file("chat/hh-rlhf-harmless.jsonl")
    spec = importlib.util.spec_from_file_location("bench_memory", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.run_spread(10, skips=(0, 50), shares=(0.3, 0.5))
    per_session = [r for r in rows if r["session"].startswith("dialogues")]
    ranges = [r for r in rows if r["session"].startswith("all")]
    assert [r["session"] for r in per_session] == (["dialogues 1-"] * 2 + ["dialogues 51-"] * 2) * 2
    assert [r["budget share"] for r in per_session] == ["30%"] * 4 + ["50%"] * 4
    assert len(ranges) == 4 and all(r["session"] == "all 2: range" for r in ranges)
    for r in ranges:
        low, high = (float(x.rstrip("%")) for x in r["cost vs full (billed)"].split("-"))
        assert 0 < low <= high
        assert (
            r["met"].startswith("input ") and "/2; billed " in r["met"] and "/2, list " in r["met"]
        )
    small, large = (
        [float(r["cost vs full (list)"].rstrip("%")) for r in per_session if r["budget share"] == s]
        for s in ("30%", "50%")
    )
    assert sum(small) < sum(large)
