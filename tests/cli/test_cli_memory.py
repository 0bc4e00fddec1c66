"""``tokenomy memory evaluate``: replaying dialogues through the window or the full history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared_data import shared_file
from tokenomy.cli import main
from tokenomy.tokens import estimate_messages


def _evaluate(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["memory", "evaluate", *args]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def _dialogue(turns: int) -> dict[str, Any]:
    messages = []
    for i in range(turns):
        messages.append({"role": "user", "content": f"question {i} " + "word " * 40})
        messages.append({"role": "assistant", "content": f"answer {i} " + "reply " * 40})
    return {"messages": messages}


def test_window_against_full_on_a_small_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Per-call tokens, valid share, largest history and totals: the window never exceeds the
    budget and saves tokens; full sends each call's whole history (counted exactly)."""
    path = tmp_path / "d.jsonl"
    rows = [_dialogue(6), _dialogue(3)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    window = _evaluate(capsys, "--dialogues", str(path), "--budget", "200")
    full = _evaluate(capsys, "--dialogues", str(path), "--strategy", "full")
    assert window["calls"] == full["calls"] == 9
    assert window["valid_share"] == {"openai": 1.0, "anthropic": 1.0}
    assert window["largest_history_tokens"] <= 200 < full["largest_history_tokens"]
    assert window["saved_share"] > 0 and full["saved_share"] == 0
    first = rows[0]["messages"]
    expected = [
        estimate_messages(first[: 2 * k + 1], "gpt-4o-mini").prompt_tokens for k in range(6)
    ]
    assert full["input_tokens_per_call"][0] == expected
    assert len(window["mean_input_tokens_by_turn"]) == 6


def test_on_the_shared_dialogues(capsys: pytest.CaptureFixture[str]) -> None:
    """On the shared hh-rlhf dialogues every windowed history is valid and under budget."""
    path = shared_file("chat/hh-rlhf-harmless.jsonl")
    doc = _evaluate(capsys, "--dialogues", str(path), "--budget", "150", "--limit", "200")
    assert doc["dialogues"] == 200 and doc["calls"] > 200
    assert doc["valid_share"]["openai"] == doc["valid_share"]["anthropic"] == 1.0
    assert doc["largest_history_tokens"] <= 150


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, ["--budget", "10"], "cannot read"),
        ("{not json\n", ["--budget", "10"], ":1: not JSON"),
        ('{"rows": []}\n', ["--budget", "10"], 'expected {"messages"'),
        ("", [], "needs --budget"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    args: list[str],
    message: str,
) -> None:
    """A missing file, a bad row or a missing budget: exit 2 and one line on stderr."""
    path = tmp_path / "d.jsonl"
    if content is not None:
        path.write_text(content)
    assert main(["memory", "evaluate", "--dialogues", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_over_budget_calls_are_counted_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user message alone over the budget is an over-budget call (the application would get
    MemoryBudgetError): counted, and kept out of the largest history."""
    rows = [_dialogue(3), {"messages": [{"role": "user", "content": "word " * 400}]}]
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    doc = _evaluate(capsys, "--dialogues", str(path), "--budget", "150")
    assert doc["over_budget_calls"] == 1 and doc["calls"] == 4
    assert doc["largest_history_tokens"] <= 150
    assert doc["input_tokens_per_call"][1][0] > 400
