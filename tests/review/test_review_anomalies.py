"""Anomalies: a runaway loop injected into a normal day's traffic is reported by the review
(``--alerts``), and the in-process detector fires its hook within one detection window; hour
spikes and user jumps against the usual."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import tokenomy
from tokenomy import LedgerStore, MemoryLedger, SQLiteLedger, Usage
from tokenomy.cli import main
from tokenomy.review import AlertingLedger, Anomaly, SpendMonitor, build_review

BASE = datetime(2026, 9, 1, tzinfo=UTC)


def normal_days(ledger: LedgerStore, days: int = 3) -> None:
    """Each hour, 6 runs of 3 calls (feature chat, users u0..u5)."""
    for d in range(days):
        for h in range(24):
            for r in range(6):
                for c in range(3):
                    tokenomy.store_call(
                        model="gpt-4o-mini", usage=Usage(input=800, output=120), ledger=ledger,
                        tags={"feature": "chat", "user": f"u{r}"},
                        timestamp=BASE + timedelta(days=d, hours=h, minutes=r * 9 + c),
                        run_id=f"d{d}h{h}r{r}c{c}", root_run_id=f"d{d}h{h}r{r}",
                    )


def runaway(ledger: LedgerStore, calls: int = 400) -> None:
    """One agent run looping: ``calls`` calls within 20 minutes of day 2, 14:00."""
    for c in range(calls):
        tokenomy.store_call(
            model="gpt-4o-mini", usage=Usage(input=800, output=120), ledger=ledger,
            tags={"feature": "chat", "user": "u9"},
            timestamp=BASE + timedelta(days=2, hours=14, seconds=3 * c),
            run_id=f"loop-{c}", root_run_id="loop",
        )


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_runaway_loop_is_reported(kind: str, tmp_path: Path) -> None:
    """The injected loop is a runaway (400 calls against peers' 3), its hour a spike and its
    user a jump; the same traffic without it has no anomaly."""
    ledger: LedgerStore = MemoryLedger() if kind == "memory" else SQLiteLedger(tmp_path / "l.db")
    normal_days(ledger)
    ledger.flush()
    until = BASE + timedelta(days=3)
    assert build_review(ledger, since=BASE, until=until).anomalies == []
    runaway(ledger)
    ledger.flush()
    found = {(a.kind, a.subject) for a in build_review(ledger, since=BASE, until=until).anomalies}
    assert ("runaway", "loop") in found
    assert ("hour_spike", "2026-09-03T14") in found
    assert ("user_jump", "u9") in found
    ledger.close()


def test_review_alerts_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """tokenomy review --alerts prints the runaway (and nothing else of the review)."""
    path = tmp_path / "l.db"
    with SQLiteLedger(path) as ledger:
        normal_days(ledger)
        runaway(ledger)
    code = main(["review", "--ledger", str(path), "--since", "2026-09-01", "--until", "2026-09-04", "--alerts"])
    out = capsys.readouterr().out
    assert code == 0
    assert "runaway run loop: 400 calls, peers 3" in out
    assert "Spend by feature" not in out


def test_in_process_hook_fires_within_one_window(caplog: pytest.LogCaptureFixture) -> None:
    """Around a ledger, SpendMonitor fires its callable and log hooks on the call that takes
    the looping run past runaway_calls (the 61st, 120 s into the loop: inside its first
    5-minute window), never for the normal runs, once."""
    got: list[Anomaly] = []
    monitor = SpendMonitor([got.append, "log"], window_s=300, runaway_calls=60, min_usd=1.0)
    ledger = AlertingLedger(MemoryLedger(), monitor)
    normal_days(ledger, days=1)
    assert got == []
    with caplog.at_level(logging.WARNING, logger="tokenomy.review"):
        for c in range(90):
            tokenomy.store_call(
                model="gpt-4o-mini", usage=Usage(input=800, output=120), ledger=ledger,
                timestamp=BASE + timedelta(days=1, hours=14, seconds=2 * c),
                run_id=f"loop-{c}", root_run_id="loop",
            )
            if got:
                break
    assert [a.kind for a in got] == ["runaway"]
    assert got[0].subject == "loop" and got[0].value == 61
    assert c == 60  # fired on the 61st call, 120 s into the loop: within one window
    assert "runaway run loop" in caplog.text
    assert len(ledger.query()) == 24 * 18 + 61  # every call still stored


def test_in_process_spend_spike() -> None:
    """A window spending over twice the mean of the earlier windows fires spend_spike once."""
    got: list[Anomaly] = []
    monitor = SpendMonitor(got.append, window_s=60, runaway_calls=10_000, min_usd=0.0)
    ledger = AlertingLedger(MemoryLedger(), monitor)
    for m in range(10):
        for c in range(5 if m < 9 else 30):
            tokenomy.store_call(
                model="gpt-4o-mini", usage=Usage(input=800, output=120), ledger=ledger,
                timestamp=BASE + timedelta(minutes=m, seconds=c),
            )
    assert [a.kind for a in got] == ["spend_spike"]
