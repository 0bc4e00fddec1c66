"""``tokenomy cost FILE``: JSON usage and cost of one raw response, clear failures."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from shared_data import shared_file
from tokenomy.cli import main

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "usage"
KEYS = {
    "model",
    "provider",
    "api",
    "usage",
    "cost",
    "priced",
    "estimated",
    "price_key",
    "service_tier",
}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_body_prints_usage_and_cost_by_dimension(capsys: pytest.CaptureFixture[str]) -> None:
    """An Anthropic body with 148 5m and 100 1h writes and 1800 reads prints those counts and
    a cost whose parts (Decimal strings) add up to the total: $0.003128 at Haiku 4.5 prices."""
    code, out, err = _run(["cost", str(FIXTURES / "anthropic-cache-mixed-ttl.json")], capsys)
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert set(data) >= KEYS
    assert data["usage"] == {
        "input": 2096,
        "output": 503,
        "cache_read": 1800,
        "cache_write_5m": 148,
        "cache_write_1h": 100,
        "reasoning": 0,
    }
    cost = {k: Decimal(v) for k, v in data["cost"].items()}
    # 48 x $1 + 1800 x $0.10 + 148 x $1.25 + 100 x $2 + 503 x $5, per million tokens
    assert cost["total"] == Decimal("0.003128")
    assert sum(v for k, v in cost.items() if k != "total") == cost["total"]
    assert (data["priced"], data["estimated"], data["api"]) == (True, False, "messages")
    assert data["price_key"] == "claude-haiku-4-5-20251001"


def test_stdin_and_provider_and_model_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """FILE '-' reads stdin; --model prices a Bedrock Converse body (which names no model),
    --provider bedrock picks the Bedrock price entry."""
    body = (FIXTURES / "bedrock-converse-cache.json").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    model = "anthropic.claude-sonnet-4-5-20250929-v1:0"
    code, out, err = _run(["cost", "-", "--provider", "bedrock", "--model", model], capsys)
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert (data["model"], data["provider"], data["priced"]) == (model, "bedrock", True)
    # 4 x $3 + 500 x $0.30 + 2000 x $3.75 + 85 x $6 + 200 x $15, per million tokens
    assert Decimal(data["cost"]["total"]) == Decimal("0.011172")


def test_unknown_model_is_unpriced_with_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A model with no price: exit 0, cost null, priced false, the warning on stderr only."""
    body = json.loads((FIXTURES / "anthropic-cache-write-5m.json").read_text())
    body["model"] = "claude-imaginary-9"
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))
    code, out, err = _run(["cost", str(path)], capsys)
    assert code == 0
    data = json.loads(out)
    assert (data["cost"], data["priced"], data["price_key"]) == (None, False, None)
    assert data["usage"]["cache_write_5m"] == 1536
    assert "claude-imaginary-9" in err
    assert "warning" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html>502</html>", "neither JSON nor SSE"),
        (b'{"error": {"message": "Invalid API key"}}', "Invalid API key"),
        (b"", "empty"),
    ],
)
def test_unreadable_input_exits_2_with_the_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    """Unreadable input: exit 2, nothing on stdout, one clear line on stderr (no traceback)
    naming the file, the problem and what was expected."""
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    code, out, err = _run(["cost", str(path)], capsys)
    assert (code, out) == (2, "")
    assert message in err
    assert str(path) in err
    assert "Expected" in err
    assert "Traceback" not in err


def test_missing_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A path that does not exist: exit 2 and the OS reason on stderr."""
    code, out, err = _run(["cost", str(tmp_path / "nope.json")], capsys)
    assert (code, out) == (2, "")
    assert "No such file" in err


@pytest.mark.shared_data
def test_module_entry_point_on_a_recorded_stream(tmp_path: Path) -> None:
    """`python -m tokenomy cost FILE` on a real recorded SSE stream (gpt-5.2 Responses with
    5760 cached tokens) prints the parsed usage and a positive cost, exit 0."""
    path = shared_file("usage/langchain-cassettes.jsonl")
    body = None
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["streaming"] and '"cached_tokens":5760' in rec["response_body"]:
            body = rec["response_body"]
            break
    assert body is not None
    sse = tmp_path / "stream.sse"
    sse.write_text(body)
    proc = subprocess.run(
        [sys.executable, "-m", "tokenomy", "cost", str(sse)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "", "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["api"], data["provider"], data["usage"]["cache_read"]) == (
        "responses",
        "openai",
        5760,
    )
    assert Decimal(data["cost"]["total"]) > 0
    assert "Traceback" not in proc.stderr
