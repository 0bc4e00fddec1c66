"""benchmarks/bench_import.py: its rows, its snippets and the way it times them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_import.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_import", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclass looks its module up there
    spec.loader.exec_module(bench)
    return bench


def test_every_row_names_measured_snippets() -> None:
    """Each row's case and anchor is a snippet, every snippet is used by a row, and the rows
    keep the litellm anchor and put each integration next to its framework floor."""
    bench = _bench()
    used = {name for case, anchor, _ in bench.ROWS for name in (case, anchor)}
    assert used == set(bench.SNIPPETS)
    anchors = {case: anchor for case, anchor, _ in bench.ROWS}
    assert anchors["import tokenomy"] == "import litellm"
    assert anchors["import tokenomy_langchain"].startswith("from langchain_core")
    assert anchors["import tokenomy_llamaindex"] == "import llama_index.core"


def test_run_returns_one_row_per_pair() -> None:
    """run() on two cheap pairs, once each: a row per pair with both times, the ratio and
    the goal verdict (none for the first-track row)."""
    bench = _bench()
    pairs = [
        ("import tokenomy_langchain", bench.LC_FLOOR, bench.GOAL_FLOOR),
        ("first tokenomy.track()", "import pydantic", None),
    ]
    rows = bench.run(runs=1, rows=pairs)
    assert [(r["case"], r["anchor"]) for r in rows] == [(c, a) for c, a, _ in pairs]
    for row in rows:
        assert float(row["ours_ms"]) > 0 and float(row["anchor_ms"]) > 0
    assert rows[0]["met"] in ("yes", "NO") and rows[1]["met"] == "-"


def test_only_the_timed_part_is_timed_and_failures_raise() -> None:
    """The setup runs untimed (a 0.3 s sleep there is not counted, one in the timed part is),
    and a snippet that fails raises instead of producing a time."""
    bench = _bench()
    assert bench.time_once(bench.Snippet("pass", setup="import time; time.sleep(0.3)")) < 0.3
    assert bench.time_once(bench.Snippet("import time; time.sleep(0.3)")) >= 0.3
    with pytest.raises(subprocess.CalledProcessError):
        bench.time_once(bench.Snippet("import no_such_module_here"))
