"""Must-show: a 1,000-item batch job through the real SDK clients and the simulator's batch
API, its process killed (SIGKILL) while waiting, twice, resumed from the job id, 2% of the
items failing once and retried once: every item answered and recorded once at batch prices,
nothing sent or paid twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import anthropic
import openai
import pytest

from tokenomy.batch import (
    AnthropicBatchAPI,
    BatchAPI,
    BatchRunner,
    BatchStore,
    OpenAIBatchAPI,
    batch_savings,
)
from tokenomy.ledger import SQLiteLedger
from tokenomy.pricing import get_price_book
from tokenomy.testing import FakeClock, ProviderSimulator

CHILD = Path(__file__).with_name("batch_child.py")
N = 1000


def _start(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(CHILD.parent)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(check: object, proc: subprocess.Popen[str], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        if proc.poll() is not None:
            raise AssertionError(
                f"child exited early ({what}): {proc.stderr.read() if proc.stderr else ''}"
            )
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_thousand_items_killed_resumed_retried_recorded_once(provider: str, tmp_path: Path) -> None:
    """Child 1 submits 1,000 items and is killed while polling; child 2 resumes from the job
    id, collects round 1 (2% failed), records it, submits only the failures and is killed; the
    test process resumes and finishes. The simulator answered each item exactly once, the
    ledger holds one successful batch-priced record per item (plus one failed attempt per
    injected failure), and the job's saving against the synchronous price is 50%."""
    clock = FakeClock()
    store_path = str(tmp_path / "batches.sqlite")
    ledger_path = str(tmp_path / "ledger.sqlite")
    job_id = f"job_kill_{provider}"
    with ProviderSimulator(batch_delay=3600, clock=clock, answer="billing") as sim:
        faults = sim.fail_batch_items(rate=0.02, seed=7, times=1)
        base = sim.openai_base_url if provider == "openai" else sim.anthropic_base_url
        args = [provider, base, store_path, ledger_path, job_id, str(N)]
        store = BatchStore(store_path)

        def rounds_open(n: int) -> bool:
            return len(store.rounds(job_id, "open")) == 1 and len(store.all_batch_ids(job_id)) == n

        # 1. submit, killed while waiting for the provider
        first = _start([*args, "submit"])
        _wait_for(lambda: rounds_open(1), first, "round 1 submitted")
        _kill(first)
        assert len(sim.batch_ids) == 1 and sim.calls == []

        # 2. the batch ends; a new process resumes from the job id, is killed in round 2
        clock.advance(3600)
        second = _start([*args, "resume"])
        _wait_for(lambda: rounds_open(2), second, "round 2 (retries) submitted")
        _kill(second)
        failed_once = faults.hits
        assert 5 <= failed_once <= 40  # about 2% of 1,000
        assert len(sim.calls) == N - failed_once

        # 3. the retries end; this process resumes and finishes
        clock.advance(3600)
        if provider == "openai":
            api: BatchAPI = OpenAIBatchAPI(openai.OpenAI(base_url=base, api_key="t", max_retries=0))
        else:
            api = AnthropicBatchAPI(anthropic.Anthropic(base_url=base, api_key="t"))
        ledger = SQLiteLedger(ledger_path)
        runner = BatchRunner(api, store=store, ledger=ledger, poll_interval=0.01)
        job = runner.job(job_id).wait(timeout=60)
        assert job.state == "done" and job.counts == {"done": N}
        results = job.results()
        assert all(r.ok and r.response is not None for r in results)
        assert results[0].response.text == "billing"  # type: ignore[union-attr]

        # nothing sent twice: one answered call per item, two provider batches in all
        answered = Counter(c.custom_id for c in sim.calls)
        assert len(answered) == N and set(answered.values()) == {1}
        assert len(sim.batch_ids) == 2 == len(job.batch_ids)

        # nothing paid twice: one successful record per item, at batch prices, one run
        records = ledger.query()
        ok = [r for r in records if r.error is None]
        bad = [r for r in records if r.error is not None]
        assert len(ok) == N and len({r.tags["batch_item"] for r in ok}) == N
        assert len(bad) == failed_once and all(r.usage.input == 0 for r in bad)
        assert {r.service_tier for r in records} == {"batch"}
        assert {r.root_run_id for r in records} == {job.run_id}
        assert {r.tags["feature"] for r in records} == {"nightly"}
        assert sum(r.attempt == 2 for r in ok) == failed_once
        book = get_price_book()
        for r in ok[:50]:
            price = book.lookup(r.model, r.provider)
            assert price is not None and r.cost is not None
            assert r.cost.total == price.cost(r.usage, service_tier="batch").total
            assert r.cost.total * 2 == price.cost(r.usage).total
        billed = sum((c.usage.input for c in sim.calls), 0)
        assert sum(r.usage.input for r in ok) == billed
        savings = batch_savings(records)
        assert savings.calls == N + failed_once and savings.saved_share == pytest.approx(0.5)
        assert savings.saved > Decimal(0)
        ledger.close()
        store.close()
