"""The LangChain examples run as scripts (as a user would) and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(name: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_handler_example_prints_each_call_and_the_total() -> None:
    """examples/langchain_handler.py records 4 calls (invoke, batch of 2, a Claude stream),
    prints them and a priced total."""
    out = _run("langchain_handler.py")
    assert out.count("ChatOpenAI ") == 3 and out.count("ChatAnthropic ") == 1
    assert "total: $" in out and "over 4 calls" in out and "unpriced" not in out


def test_track_example_prints_runs_users_and_the_cache_saving() -> None:
    """examples/langchain_track.py shows three answer_ticket runs (one a cache hit), spend per
    user and a non-zero saving."""
    out = _run("langchain_track.py")
    assert out.count("answer_ticket") == 3 and "(LLM cache hit)" in out
    assert "alice" in out and "bob" in out
    assert "over 3 calls; cache saved $0.0" in out and "cache saved $0.00\n" not in out
