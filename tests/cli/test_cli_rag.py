"""`tokenomy rag evaluate`: the budgeter against naive top-k as JSON; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokenomy.cli import main

ARTICLE = [
    ("A#0", "Alpha is a small town. It has a bakery and a school. The river is wide."),
    ("A#1", "The town of Alpha was founded in 1820 by settlers. Founders built a mill there."),
    ("A#2", "Alpha's mayor is Jane Roe. She was elected in 2019. Her office is on Main Street."),
    ("A#3", "Winters in Alpha are cold. Snow falls from November to March."),
]
QUESTIONS = [
    ("q1", "When was Alpha founded?", ["1820"], "A#1"),
    ("q2", "Who is the mayor of Alpha?", ["Jane Roe"], "A#2"),
    ("q3", "When does snow fall in Alpha?", ["November to March"], "A#3"),
]


def _files(tmp_path: Path) -> tuple[Path, Path]:
    q = tmp_path / "questions.jsonl"
    c = tmp_path / "chunks.jsonl"
    q.write_text(
        "".join(
            json.dumps(
                {"id": i, "article": "A", "question": t, "answers": a, "gold_chunk": g}
            )
            + "\n"
            for i, t, a, g in QUESTIONS
        )
    )
    c.write_text(
        "".join(json.dumps({"id": i, "article": "A", "text": t}) + "\n" for i, t in ARTICLE)
    )
    return q, c


@pytest.mark.parametrize("retriever", ["bm25", "minilm"])
def test_evaluate_prints_both_methods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], retriever: str
) -> None:
    """Both methods' retention and tokens are printed; under a budget that fits about one
    paragraph the budgeter keeps the answer of every question (compressed sentences from
    several paragraphs), naive top-k sends whole paragraphs and never exceeds the budget."""
    q, c = _files(tmp_path)
    code = main(
        ["rag", "evaluate", "--questions", str(q), "--chunks", str(c), "--budget", "30",
         "--retriever", retriever]
    )  # fmt: skip
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["retriever"] == retriever and doc["budget"] == 30 and doc["questions"] == 3
    ours, naive = doc["budgeter"], doc["naive_top_k"]
    assert ours["gold_retention"] == 1.0
    assert ours["tokens_sent_mean"] <= 30 and naive["tokens_sent_mean"] <= 30
    assert naive["chunks_sent_mean"] <= 1.5


def test_bm25_retrieval_with_hybrid_compression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--compress hybrid with the BM25 retriever scores sentences with MiniLM and BM25 (the
    JSON says which compression ran); without --compress, BM25 compresses lexically."""
    q, c = _files(tmp_path)
    args = ["rag", "evaluate", "--questions", str(q), "--chunks", str(c), "--budget", "30"]
    assert main([*args, "--compress", "hybrid"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["retriever"] == "bm25" and doc["compress"] == "hybrid"
    assert doc["budgeter"]["gold_retention"] == 1.0
    assert doc["budgeter"]["tokens_sent_mean"] <= 30
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["compress"] == "lexical"


def test_limit_and_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--limit takes the first N questions; --indent 0 prints one line."""
    q, c = _files(tmp_path)
    args = ["rag", "evaluate", "--questions", str(q), "--chunks", str(c), "--budget", "500"]
    assert main([*args, "--limit", "1", "--indent", "0"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out)["questions"] == 1


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        ("not json\n", "not JSON"),
        ('{"id": "x"}\n', "lacks 'article'"),
        ("[1, 2]\n", "JSON object"),
    ],
)
def test_bad_question_files_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expect: str
) -> None:
    """A malformed file is exit 2 with one line on stderr naming the problem."""
    _, c = _files(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    code = main(["rag", "evaluate", "--questions", str(bad), "--chunks", str(c), "--budget", "9"])
    err = capsys.readouterr().err
    assert code == 2
    assert expect in err and err.count("\n") == 1 and err.startswith("tokenomy rag evaluate:")


def test_missing_file_and_bad_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file and a budget under 1 are one-line errors, exit 2."""
    q, c = _files(tmp_path)
    missing = str(tmp_path / "nope.jsonl")
    assert main(["rag", "evaluate", "--questions", missing, "--chunks", str(c), "--budget", "9"]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["rag", "evaluate", "--questions", str(q), "--chunks", str(c), "--budget", "0"]) == 2
    assert "--budget" in capsys.readouterr().err
