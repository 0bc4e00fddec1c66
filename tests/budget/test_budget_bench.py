"""benchmarks/bench_budget.py runs quickly and prints a row per store next to the floor."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from services import require_redis

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_budget.py"


@pytest.mark.redis
def test_bench_budget_rows() -> None:
    """A short run: one row per store with its rate, its ratio to the Redis INCRBYFLOAT
    floor measured in the same run, and the goal verdict (Redis also with the settle in its
    own round trip, no goal); the floor row last."""
    require_redis()
    spec = importlib.util.spec_from_file_location("bench_budget", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    rows = bench.run(repetitions=2, block_s=0.005)
    assert [r["case"] for r in rows] == [
        "reserve+settle: memory",
        "reserve+settle: sqlite",
        "reserve+settle: redis",
        "reserve+settle: redis, settle now",
        "floor: redis INCRBYFLOAT",
    ]
    assert all(r["per_second"] > 0 for r in rows)
    assert rows[-1]["vs_floor"] == "1.00x" and rows[-1]["goal"] == "-"
    assert [r["meets_goal"] in ("yes", "NO") for r in rows[:3]] == [True, True, True]
    assert rows[3]["meets_goal"] == "-"
    # the memory store needs no round trip: faster than any networked counter
    assert rows[0]["per_second"] > rows[-1]["per_second"]
