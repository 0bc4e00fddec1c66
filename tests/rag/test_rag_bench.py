"""benchmarks/bench_rag.py, run quickly: its quality rows (budgeter vs naive top-k on SQuAD)
and speed rows have the numbers they claim."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from shared_data import shared_file

pytestmark = pytest.mark.shared_data

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_rag.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_rag", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)
    return bench


def test_quality_rows_on_a_sample() -> None:
    """On 40 questions with BM25: one row per budget, tokens within the budget, the goal
    verdict consistent with the numbers, and naive top-k at 2B at least as good as at B."""
    data = shared_file("retrieval/squad-dev-questions.jsonl").parent
    rows = _bench().quality_rows("bm25", questions=40, data=data, budgets=(256, 512))
    assert [r["case"] for r in rows] == ["bm25 B=256", "bm25 B=512"]
    for row, budget in zip(rows, (256, 512), strict=True):
        assert row["questions"] == 40
        assert 0 < float(row["tokens sent"]) <= budget
        assert float(row["top-k@B tokens"]) <= budget < 2 * budget
        assert float(row["top-k@2B retained"]) >= float(row["top-k@B retained"])
        met = float(row["retained"]) >= float(row["top-k@2B retained"])
        assert row["met"] == ("yes" if met else "NO")


def test_hybrid_rows_are_labelled(tmp_path: Path) -> None:
    """The BM25 table with hybrid compression (MiniLM scores sentences, BM25 still ranks) is
    labelled as such, and on a small article where one paragraph fits the budget it keeps
    every answer, meeting the goal."""
    import json

    article = [
        ("A#0", "Alpha is a small town. It has a bakery and a school. The river is wide."),
        ("A#1", "The town of Alpha was founded in 1820 by settlers. They built a mill."),
        ("A#2", "Alpha's mayor is Jane Roe. She was elected in 2019. Her office is downtown."),
    ]
    questions = [
        ("q1", "When was Alpha founded?", ["1820"], "A#1"),
        ("q2", "Who is the mayor of Alpha?", ["Jane Roe"], "A#2"),
    ]
    (tmp_path / "squad-dev-chunks.jsonl").write_text(
        "".join(json.dumps({"id": i, "article": "A", "text": t}) + "\n" for i, t in article)
    )
    (tmp_path / "squad-dev-questions.jsonl").write_text(
        "".join(
            json.dumps({"id": i, "article": "A", "question": t, "answers": a, "gold_chunk": g})
            + "\n"
            for i, t, a, g in questions
        )
    )
    rows = _bench().quality_rows(
        "bm25", questions=None, data=tmp_path, budgets=(25,), compress="hybrid"
    )
    assert [r["case"] for r in rows] == ["bm25, hybrid B=25"]
    assert rows[0]["retained"] == "1.000" and rows[0]["met"] == "yes"


def test_speed_rows() -> None:
    """Budgeting 100 chunks with and without dedup, warm (per-text caches filled) and cold
    (emptied before each run): chunks per second, both retrieval anchors (BM25, MiniLM), and
    a goal verdict consistent with the ratios: warm <= 0.2x both retrievals, cold <= 0.5x
    the MiniLM retrieval; the load average on every row; then hybrid compression's warm row
    (MiniLM sentence vectors kept), reported without a goal."""
    data = shared_file("retrieval/squad-dev-questions.jsonl").parent
    rows = _bench().speed_rows(data=data, repetitions=2)
    assert [r["case"] for r in rows] == [
        "budget 100 chunks, dedup, warm",
        "budget 100 chunks, no dedup, warm",
        "budget 100 chunks, dedup, cold",
        "budget 100 chunks, no dedup, cold",
        "budget 100 chunks, dedup, cold, no pool",
        "budget 100 chunks, hybrid (MiniLM sentences), dedup, warm",
    ]
    *rows, hybrid = rows
    assert hybrid["goal"] == "reported" and hybrid["met"] == ""
    assert float(hybrid["x MiniLM"]) > 0
    for row in rows:
        per_second = float(row["chunks/s"].replace(",", ""))
        assert per_second == pytest.approx(100 / (float(row["ms per query"]) / 1e3), rel=0.05)
        assert float(row["BM25 ms"]) > 0 and float(row["MiniLM ms"]) > 0
        if "warm" in row["case"]:
            met = max(float(row["x BM25"]), float(row["x MiniLM"])) <= 0.2
            assert row["met"] == ("yes" if met else "NO")
        else:
            assert row["goal"] == "<= 0.5x MiniLM retrieval"
            assert row["met"] == ("yes" if float(row["x MiniLM"]) <= 0.5 else "NO")
        assert float(row["load"]) >= 0


def test_samples_are_seeded() -> None:
    """The benchmark's question sample is fixed by its seed (11 by default: parameters are fit
    outside it) and --seed draws another of the same size."""
    bench = _bench()
    pool = list(range(500))
    first = bench._sample(pool, 100)
    assert first == bench._sample(pool, 100, 11) and len(set(first)) == 100
    second = bench._sample(pool, 100, 12)
    assert len(second) == 100 and second != first
    assert bench._sample(pool, None) == pool
