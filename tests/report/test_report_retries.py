"""Retries and failures in ``tokenomy report``: the retry rate, failures by error class, the
calls that failed in the end, and what failed attempts and retries cost, read with the
store's aggregation from a real SQLite ledger that a pipeline with ``Retry`` wrote while
calling the simulator through the real openai SDK (plus billed failed attempts)."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import openai
import pytest

from tokenomy import (
    CostRecord,
    MemoryLedger,
    ModelRequest,
    ModelResponse,
    Pipeline,
    Report,
    Retry,
    SQLiteLedger,
    Usage,
    parse_response,
    retry_summary,
)
from tokenomy.cli import main
from tokenomy.pricing import Cost
from tokenomy.testing import FakeClock, Fault, ProviderSimulator

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def _send(sim: ProviderSimulator):  # type: ignore[no-untyped-def]
    client = openai.OpenAI(base_url=sim.openai_base_url, api_key="t", max_retries=0)

    def send(req: ModelRequest) -> ModelResponse:
        raw = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
        parsed = parse_response(raw)
        return ModelResponse(
            message={"role": "assistant", "content": raw.choices[0].message.content or ""},
            usage=parsed.usage, finish_reason=parsed.finish_reason, model=raw.model,
            provider="openai", raw=raw,
        )

    return send


def _billed_failure(attempt: int, cost: str) -> CostRecord:
    """A failed attempt the provider billed (a stream cut after some output)."""
    return CostRecord(
        record_id=f"billed-{attempt}", run_id="run-billed", model="gpt-4o-mini",
        provider="openai", usage=Usage(input=100, output=50),
        cost=Cost(total=Decimal(cost), parts={"output": Decimal(cost)}), priced=True,
        attempt=attempt, error="APIConnectionError",
    )


def _fill(ledger: SQLiteLedger | MemoryLedger, sim: ProviderSimulator) -> None:
    clock = FakeClock()
    pipe = Pipeline([Retry(clock=clock, sleep=clock.sleep, rng=random.Random(1))], ledger=ledger)
    send = _send(sim)
    request = ModelRequest(model="gpt-4o-mini", provider="openai", messages=MESSAGES)
    sim.inject(Fault.rate_limit(retry_after=1), times=2)
    pipe.call(request, send)  # 429, 429, answer
    sim.inject(Fault.error(400), times=1)
    with pytest.raises(openai.BadRequestError):
        pipe.call(request, send)  # never retried
    pipe.call(request, send)  # answered at once
    ledger.add_many([_billed_failure(1, "0.002"), _billed_failure(2, "0.001")])
    ledger.flush()


def test_report_retries_match_the_records(
    provider_simulator: ProviderSimulator, tmp_path: Path
) -> None:
    """From SQLite (SQL aggregation) and from memory: 4 calls, 3 retries (75% of calls),
    5 failed attempts of 7 by class, 2 calls failed in the end, $0.003 wasted on failed
    attempts; the same numbers as retry_summary over the raw records."""
    with SQLiteLedger(tmp_path / "ledger.db") as ledger:
        _fill(ledger, provider_simulator)
        records = ledger.query()
        got = Report.from_ledger(ledger).retries
    assert (got.calls, got.attempts, got.retries) == (4, 7, 3)
    assert (got.failed_attempts, got.failed_calls) == (5, 2)
    assert got.failures_by_error == {"RateLimitError": 2, "APIConnectionError": 2,
                                     "BadRequestError": 1}
    assert got.wasted_usd == Decimal("0.003")
    answered_retry = next(r for r in records if r.attempt == 3).cost
    assert answered_retry is not None
    assert got.retries_usd == answered_retry.total + Decimal("0.001")
    assert got.retry_rate == 0.75 and got.failure_rate == pytest.approx(5 / 7)
    assert got == retry_summary(records)
    assert Report(records).retries == got


def test_cli_report_shows_retries(
    provider_simulator: ProviderSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tokenomy report`` prints a "Retries and failures" table with the classes, and its
    JSON carries the same numbers (money as exact strings)."""
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as ledger:
        _fill(ledger, provider_simulator)
    assert main(["report", "--ledger", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Retries and failures" in text and "RateLimitError" in text
    assert "75.0% of calls" in text
    assert main(["report", "--ledger", str(path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)["retries"]
    assert (doc["calls"], doc["retries"], doc["failed_attempts"], doc["failed_calls"]) == (
        4, 3, 5, 2)
    assert doc["wasted_usd"] == "0.003" and doc["retry_rate"] == 0.75


def test_no_retries_no_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ledger without retries or failures shows no retries table; JSON has zeros."""
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path) as ledger:
        ledger.add(CostRecord(model="gpt-4o-mini", usage=Usage(input=3)))
    assert main(["report", "--ledger", str(path)]) == 0
    assert "Retries and failures" not in capsys.readouterr().out
    assert main(["report", "--ledger", str(path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)["retries"]
    assert (doc["calls"], doc["retries"], doc["failed_attempts"]) == (1, 0, 0)
