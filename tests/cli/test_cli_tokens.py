"""`tokenomy tokens FILE`: prompt tokens of one request body as JSON; exit 2 on bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tokenomy.cli import main
from tokenomy.tokens import estimate_request

CHAT = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "Write a story about a cat."}],
}
RESPONSES = {"model": "gpt-5.5", "instructions": "Be terse.", "input": "Hello"}
ANTHROPIC = {
    "model": "claude-haiku-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}
KEYS = {"prompt_tokens", "estimated", "encoding", "method", "model", "format"}


def _write(tmp_path: Path, body: Any, name: str = "body.json") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return path


@pytest.mark.parametrize(
    ("body", "fmt"),
    [(CHAT, "openai-chat"), (RESPONSES, "openai-responses"), (ANTHROPIC, "anthropic-messages")],
)
def test_prints_the_estimate_of_each_format(
    body: dict[str, Any], fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each wire format prints exactly the six keys, matching estimate_request."""
    assert main(["tokens", str(_write(tmp_path, body))]) == 0
    doc = json.loads(capsys.readouterr().out)
    expected = estimate_request(body)
    assert set(doc) == KEYS
    assert doc["format"] == fmt
    assert doc["model"] == body["model"]
    assert (doc["prompt_tokens"], doc["estimated"], doc["encoding"], doc["method"]) == (
        expected.prompt_tokens,
        expected.estimated,
        expected.encoding,
        expected.method,
    )


def test_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """FILE '-' reads the body from standard input."""
    stdin = io.TextIOWrapper(io.BytesIO(json.dumps(CHAT).encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["tokens", "--indent", "0", "-"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out)["prompt_tokens"] == estimate_request(CHAT).prompt_tokens


def test_provider_settles_chat_versus_anthropic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--provider anthropic reads an ambiguous messages body as an Anthropic one."""
    body = {"model": "my-model", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}
    path = _write(tmp_path, body)
    assert main(["tokens", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "openai-chat"
    assert main(["tokens", "--provider", "anthropic", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "anthropic-messages"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("not json {", "not JSON"),
        ("[1, 2]", "a JSON list"),
        ('{"foo": 1}', "cannot tell the request format"),
        ('{"model": "gpt-4o", "messages": "hi"}', "'messages' list"),
    ],
)
def test_unreadable_input_exits_2_naming_what_was_expected(
    content: str, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input exits 2 with a message naming the file and what was expected; nothing on stdout."""
    path = _write(tmp_path, content)
    assert main(["tokens", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(path) in captured.err
    assert needle in captured.err
    assert "OpenAI chat body" in captured.err or "expected" in captured.err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that does not exist exits 2 and says so."""
    assert main(["tokens", str(tmp_path / "absent.json")]) == 2
    assert "No such file" in capsys.readouterr().err


def test_python_dash_m_tokenomy_tokens(tmp_path: Path) -> None:
    """`python -m tokenomy tokens FILE` runs in a fresh interpreter and prints the JSON."""
    path = _write(tmp_path, CHAT)
    result = subprocess.run(
        [sys.executable, "-m", "tokenomy", "tokens", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["prompt_tokens"] == estimate_request(CHAT).prompt_tokens
    assert doc["estimated"] is False
    assert doc["format"] == "openai-chat"
