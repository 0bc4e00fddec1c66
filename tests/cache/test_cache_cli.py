"""tokenomy cache calibrate / evaluate: JSON output on labelled pairs with the lexical
fallback embedder (offline, instant), the shared Quora pairs with MiniLM when present, and
one-line errors with exit code 2 on unusable input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared_data import shared_file
from tokenomy.cli import main

PAIRS = [
    ("How do I learn Python quickly?", "How can I learn Python fast?", True),
    ("How do I learn Python quickly?", "how do i learn python quickly", True),
    ("What is the capital of France?", "What is the capital of france?", True),
    ("Is it safe to eat raw eggs?", "Is it not safe to eat raw eggs?", False),
    ("How do I prepare for class 10 exams?", "How do I prepare for class 12 exams?", False),
    ("Are cats afraid of tigers?", "Are tigers afraid of cats?", False),
    ("Best pizza in Naples?", "How do I fix a flat tyre?", False),
    ("What is machine learning?", "What is machine learning exactly?", True),
]


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"a": a, "b": b, "duplicate": d}) + "\n" for a, b, d in PAIRS))
    return path


def test_evaluate_prints_counts_with_and_without_guards(pairs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """evaluate: precision, recall and counts at the threshold; the guards reject the negation,
    number and swapped-roles pairs that cosine alone lets through."""
    code = main(["cache", "evaluate", "--pairs", str(pairs), "--threshold", "0.5", "--embedder", "lexical"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["pairs"] == 8 and doc["duplicates"] == 4 and doc["guards"] is True
    assert doc["false_hits"] == 0 and doc["precision"] == 1.0
    assert doc["without_guards"]["false_hits"] == 3
    assert doc["rejected_by_guard"] == {"negation": 1, "numbers": 1, "roles": 1}


def test_calibrate_picks_a_threshold(pairs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """calibrate with a loose margin picks the lowest threshold meeting the target and prints
    the curve."""
    code = main(["cache", "calibrate", "--pairs", str(pairs), "--target-precision", "0.6",
                 "--embedder", "lexical", "--z", "0"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert doc["chosen"]["precision"] >= 0.6 and doc["curve"]
    assert doc["chosen"]["threshold"] == min(p["threshold"] for p in doc["curve"] if p["precision"] >= 0.6)


def test_calibrate_unreachable_target_exits_2(pairs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A target no threshold reaches (with the margin) prints the curve and one line, exit 2."""
    code = main(["cache", "calibrate", "--pairs", str(pairs), "--target-precision", "1.0",
                 "--embedder", "lexical", "--no-guards"])
    out = capsys.readouterr()
    assert code == 2 and json.loads(out.out)["chosen"] is None
    assert out.err.count("\n") == 1 and "no threshold reaches precision 1.0" in out.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "1.5"], "--threshold must be a cosine"),
        (["--threshold", "0.9", "--limit", "0"], "--limit must be >= 1"),
    ],
)
def test_bad_arguments(pairs: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    """Out-of-range arguments: one line on stderr, exit 2."""
    code = main(["cache", "evaluate", "--pairs", str(pairs), "--embedder", "lexical", *args])
    assert code == 2 and message in capsys.readouterr().err


def test_malformed_and_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A row without the fields names the file and line; a missing file says so; exit 2."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": "x"}\n')
    assert main(["cache", "evaluate", "--pairs", str(bad), "--threshold", "0.9", "--embedder", "lexical"]) == 2
    assert f"{bad}:1" in capsys.readouterr().err
    assert main(["cache", "evaluate", "--pairs", str(tmp_path / "nope.jsonl"), "--threshold", "0.9"]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.shared_data
def test_qqp_minilm_holds_on_unseen_pairs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """On 600 shared Quora pairs with MiniLM and the guards, the default threshold (0.965)
    reaches precision 0.85+ (calibrated for 0.90 on all 20,000; a sample this size swings:
    0.893 here), above cosine alone (0.875), through the command line's own embedding."""
    src = shared_file("paraphrase/qqp-dev.jsonl")
    sample = tmp_path / "qqp.jsonl"
    sample.write_text("".join(src.open().readlines()[-600:]))
    assert main(["cache", "evaluate", "--pairs", str(sample), "--threshold", "0.965"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["hits"] > 20 and doc["precision"] >= 0.85
    assert doc["precision"] >= doc["without_guards"]["precision"]
