"""The LlamaIndex example script runs end to end, and the handler benchmark produces its rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_example_script_prints_runs_and_matches_the_simulator() -> None:
    """examples/llamaindex_handler.py starts the simulator, builds an index, queries it for two
    users, prints every run with its calls and the per-user spend, and exits 0 only when its
    token totals equal what the simulator billed."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.pop("TOKENOMY_LEDGER", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "llamaindex_handler.py")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.count("RetrieverQueryEngine.query") == 3
    assert "alice" in out and "bob" in out
    assert "spent: $" in out


def test_benchmark_rows_have_both_numbers() -> None:
    """benchmarks/bench_llamaindex_handler.py run() measures the anchor, tokenomy and both
    floors in one run, for the usage-reported and no-usage cases, and every tokenomy call was
    recorded; beside them the TokenomyLLM wrapper rows (no policies, MaxTokens), every wrapped
    call recorded by the pipeline."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_llamaindex_handler as bench

        rows = bench.run(block=10, repetitions=2)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    setups = [
        "no-op event handler (dispatch floor)",
        "capture-only event handler (floor)",
        "TokenCountingHandler",
        "tokenomy",
        bench.WRAPPER_BARE,
        bench.WRAPPER_MAX_TOKENS,
    ]
    assert [(r["case"], r["setup"]) for r in rows] == [
        (case, setup) for case in ("usage in raw", "no usage (both tokenize)") for setup in setups
    ]
    ours = [r for r in rows if r["setup"] == "tokenomy"]
    for row in ours:
        assert row["vs_anchor"].endswith("x") and row["met"] in ("yes", "no")
        assert row["records"] == "220/220"
    wrapped = [r for r in rows if r["setup"] in (bench.WRAPPER_BARE, bench.WRAPPER_MAX_TOKENS)]
    assert len(wrapped) == 4 and all(r["records"] == "220/220" for r in wrapped)
