"""The LangChain handler benchmark runs (tiny N) and every tokenomy setup records every call."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_langchain_handler.py"


def test_benchmark_rows_and_record_counts() -> None:
    """run() returns a row per setup (no handler, the no-op and lean floors, the anchor,
    tokenomy into a MemoryLedger, a SQLiteLedger and through track(), the TokenomyChatModel
    wrapper without and with MaxTokens) and each tokenomy setup
    recorded all of its calls (200 warm-up calls plus 2 blocks of 10)."""
    spec = importlib.util.spec_from_file_location("bench_langchain_handler", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.run(block=10, repetitions=2)
    cases = [r["case"] for r in rows]
    for case in (
        "none",
        "no-op handler (dispatch floor)",
        "lean handler (price + append floor)",
        "UsageMetadataCallbackHandler",
        "tokenomy (MemoryLedger)",
        "tokenomy (SQLiteLedger)",
        "tokenomy_langchain.track()",
    ):
        assert case in cases
    ours = [r for r in rows if r["case"].startswith("tokenomy")]
    assert all(r["records"] == "220/220" for r in ours), ours
    wrappers = [r for r in rows if r["case"].startswith("TokenomyChatModel")]
    assert [r["case"] for r in wrappers] == [
        "TokenomyChatModel (no policies)",
        "TokenomyChatModel (MaxTokens)",
    ]
    assert all(r["records"] == "220/220" for r in wrappers), wrappers
    assert all(r["met"] in ("yes", "no") for r in ours)
    sqlite = next(r for r in ours if r["case"] == "tokenomy (SQLiteLedger)")
    assert sqlite["goal"].endswith("(caller_us)")
