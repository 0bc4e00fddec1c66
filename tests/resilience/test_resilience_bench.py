"""benchmarks/bench_resilience.py runs quickly and prints the anchor and tokenomy rows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_resilience.py"


def test_bench_resilience_rows() -> None:
    """A short day (4,000 requests): the same initial failures in both rows; every attempt
    is a ledger record; the naive anchor retries every fatal error twice while tokenomy
    wastes far fewer requests and ends no more calls in failure."""
    spec = importlib.util.spec_from_file_location("bench_resilience", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    rows = bench.run(requests=4_000, seed=3)
    naive, backoff, ours = rows
    assert [r["case"] for r in rows] == ["anchor: naive immediate retries",
                                         "with_retry-style backoff, every error",
                                         "tokenomy.Retry"]
    assert naive["initial_failures"] == backoff["initial_failures"] == ours["initial_failures"]
    assert naive["initial_failures"] > 0 and backoff["waited_s"] > 0 == naive["waited_s"]
    assert ours["wasted"] < backoff["wasted"]  # fatal errors are not retried
    assert all(r["records"] == r["attempts"] for r in rows)
    assert naive["wasted"] >= naive["initial_failures"]  # fatal ones retried twice each
    assert ours["wasted"] < naive["wasted"] and ours["failed_calls"] <= naive["failed_calls"]
    assert ours["meets_goal"] in ("yes", "NO") and naive["meets_goal"] == backoff["meets_goal"] == "-"
