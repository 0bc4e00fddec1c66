"""BatchRunner and Deferral against the simulator's batch API through the real SDK clients:
results matched to inputs, retries of failed items only, recovery of a round whose batch id
was never saved, refusals, and the deferral policy's size and age flushes."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anthropic
import openai
import pytest

from tokenomy import ModelRequest, Pipeline, track
from tokenomy.batch import (
    AnthropicBatchAPI,
    BatchJobError,
    BatchRunner,
    BatchStore,
    Deferral,
    DeferredItemError,
    OpenAIBatchAPI,
    batch_savings,
)
from tokenomy.exceptions import ConfigurationError
from tokenomy.ledger import MemoryLedger
from tokenomy.testing import FakeClock, MockSender, ProviderSimulator, echo


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[ProviderSimulator]:
    with ProviderSimulator(batch_delay=10, clock=clock, answer=echo()) as s:
        yield s


def _oai(sim: ProviderSimulator) -> OpenAIBatchAPI:
    return OpenAIBatchAPI(openai.OpenAI(base_url=sim.openai_base_url, api_key="t", max_retries=0))


def _req(i: int, model: str = "gpt-4o-mini", **tags: str) -> ModelRequest:
    return ModelRequest(
        model=model, messages=[{"role": "user", "content": f"question {i}"}], tags=tags
    )


def test_results_match_inputs_and_failures_retry_once(
    sim: ProviderSimulator, clock: FakeClock, tmp_path: Path
) -> None:
    """Answers come back in input order whatever the output file's order; an item failing
    twice (times=2) ends failed after max_retries=1 with its error, and only it was resent."""
    sim.fail_batch_items(custom_ids=["i3"], times=2)
    sim.fail_batch_items(custom_ids=["i5"], times=1)
    ledger = MemoryLedger()
    runner = BatchRunner(
        _oai(sim), store=tmp_path / "b.sqlite", ledger=ledger, sleep=clock.sleep, poll_interval=5
    )
    results = runner.run([_req(i) for i in range(8)], tags={"feature": "digest"})
    assert [r.index for r in results] == list(range(8))
    for r in results:
        if r.custom_id == "i3":
            assert not r.ok and r.attempts == 2 and "simulated" in (r.error or "")
        else:
            assert r.ok and r.response is not None
            assert r.response.text.endswith(f"question {r.index}")
    second_round = [c.custom_id for c in sim.calls if c.batch_id == sim.batch_ids[1]]
    assert second_round == ["i5"]
    records = ledger.query()
    assert sorted((r.tags["batch_item"], r.attempt, r.error) for r in records if r.error) == [
        ("i3", 1, "BatchItemError"),
        ("i3", 2, "BatchItemError"),
        ("i5", 1, "BatchItemError"),
    ]
    assert batch_savings(records).saved_share == pytest.approx(0.5)
    assert clock.sleeps and set(clock.sleeps) == {5.0}


def test_a_round_submitted_but_not_saved_is_found_again(
    sim: ProviderSimulator, clock: FakeClock, tmp_path: Path
) -> None:
    """A crash between the provider accepting a batch and the store saving its id: the round
    is 'submitting'; the next step finds the batch by its key (OpenAI metadata) instead of
    submitting the items again."""
    store = BatchStore(tmp_path / "b.sqlite")
    api = _oai(sim)
    runner = BatchRunner(api, store=store, sleep=clock.sleep, poll_interval=5)
    job = runner.submit([_req(i) for i in range(3)])
    ((_number, key, batch_id),) = store.rounds(job.job_id, "open")
    # put the store back to the moment before opened_round was committed
    with store._tx() as db:
        db.execute("UPDATE tokenomy_batch_rounds SET state='submitting', batch_id=NULL")
        db.execute("UPDATE tokenomy_batch_items SET state='submitting'")
    assert api.find(key) == batch_id
    job.wait()
    assert len(sim.batch_ids) == 1 and len(sim.calls) == 3
    assert job.counts == {"done": 3}


def test_refusals(sim: ProviderSimulator, tmp_path: Path) -> None:
    """Typed, actionable refusals: an unknown job, a job of the other provider, a duplicate
    job id, streamed requests, an empty job, a wait that times out."""
    store = BatchStore(tmp_path / "b.sqlite")
    runner = BatchRunner(_oai(sim), store=store, poll_interval=0)
    with pytest.raises(BatchJobError, match="no batch job"):
        runner.job("nope")
    with pytest.raises(ConfigurationError):
        runner.submit([])
    with pytest.raises(ConfigurationError, match="non-streamed"):
        runner.submit([_req(0).replace(stream=True)])
    job = runner.submit([_req(0)], job_id="j1")
    with pytest.raises(BatchJobError, match="already exists"):
        runner.submit([_req(0)], job_id="j1")
    claude = AnthropicBatchAPI(anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="t"))
    with pytest.raises(BatchJobError, match="resume it with a openai"):
        BatchRunner(claude, store=store).job("j1")
    with pytest.raises(BatchJobError, match="not finished"):
        job.wait(timeout=0)
    runner.cancel("j1")
    assert job.state == "cancelled"


def test_anthropic_items_keep_system_blocks_and_cache_control(
    sim: ProviderSimulator, clock: FakeClock, tmp_path: Path
) -> None:
    """An Anthropic item's params: system prompt as system blocks with cache_control kept,
    max_tokens defaulted, the tools converted (and their cache_control kept)."""
    api = AnthropicBatchAPI(anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="t"))
    request = ModelRequest(
        model="claude-haiku-4-5",
        messages=[
            {
                "role": "system",
                "content": [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}],
            },
            {"role": "user", "content": "hi"},
        ],
        params={
            "tools": [
                {
                    "type": "function",
                    "function": {"name": "f", "parameters": {"type": "object"}},
                    "cache_control": {"type": "ephemeral"},
                }
            ]
        },
    )
    body = api.item_body(request)
    assert body["system"] == [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}]
    assert body["max_tokens"] == 4096
    assert body["tools"][0]["cache_control"] == {"type": "ephemeral"}
    results = BatchRunner(api, store=tmp_path / "a.sqlite", sleep=clock.sleep).run([request])
    assert results[0].ok


def test_deferral_batches_tagged_requests_and_passes_the_rest(
    sim: ProviderSimulator, clock: FakeClock, tmp_path: Path
) -> None:
    """Six threads call through a pipeline with Deferral(max_items=4): the four deferrable
    calls (tag or feature) go out as one batch job and each caller gets its own answer,
    recorded once at batch rates; the two others are sent at once through the sender."""
    ledger = MemoryLedger()
    runner = BatchRunner(_oai(sim), store=tmp_path / "d.sqlite", ledger=ledger, poll_interval=0.01)
    sim.batch_delay = 0
    deferral = Deferral(runner, features=["nightly"], max_items=4, max_age=3600)
    pipeline = Pipeline([deferral], ledger=ledger)
    sender = MockSender(lambda request: "now")

    def call(i: int) -> str:
        tags = {"deferrable": "true"} if i in (0, 1) else {}
        request = _req(i, **tags)
        if i in (2, 3):
            with track(feature="nightly", ledger=ledger):
                return pipeline.call(request, sender).text
        return pipeline.call(request, sender).text

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(call, range(6)))
    assert answers[4:] == ["now", "now"]
    for i in range(4):
        assert answers[i].endswith(f"question {i}")
    assert len(deferral.jobs) == 1 and deferral.pending == 0
    records = ledger.query()
    batched = [r for r in records if r.service_tier == "batch"]
    assert len(batched) == 4 and len(records) == 6
    assert sum(r.tags.get("feature") == "nightly" for r in batched) == 2


def test_deferral_age_flush_and_failed_item(
    sim: ProviderSimulator, clock: FakeClock, tmp_path: Path
) -> None:
    """A lone deferrable call goes out when max_age passes; an item that still fails after
    its retries raises DeferredItemError in its caller."""
    sim.batch_delay = 0
    sim.fail_batch_items(custom_ids=["i0"], times=None)
    runner = BatchRunner(_oai(sim), store=tmp_path / "e.sqlite", poll_interval=0.01)
    deferral = Deferral(runner, features=["x"], max_items=100, max_age=0.05)
    pipeline = Pipeline([deferral])
    with pytest.raises(DeferredItemError, match="failed after 2 attempt"):
        pipeline.call(_req(0, feature="x"), MockSender())
    assert len(deferral.jobs) == 1
    deferral.close()


def test_report_shows_the_batch_saving(
    sim: ProviderSimulator, clock: FakeClock, tmp_path: Path
) -> None:
    """Report.batch_savings() (from the store's aggregation) equals batch_savings() over the
    records, and the rendered report has a 'Batch API' line with the saving; a ledger
    without batch calls has no such line."""
    from rich.console import Console

    from tokenomy import Report

    ledger = MemoryLedger()
    runner = BatchRunner(_oai(sim), store=tmp_path / "r.sqlite", ledger=ledger, sleep=clock.sleep)
    runner.run([_req(i) for i in range(5)], tags={"feature": "digest"})
    report = Report.from_ledger(ledger)
    summary = report.batch_savings()
    direct = batch_savings(ledger.query())
    assert (summary.calls, summary.cost, summary.sync_cost) == (5, direct.cost, direct.sync_cost)
    assert summary.saved_share == pytest.approx(0.5)
    console = Console(width=140, record=True)
    report.render(console)
    text = console.export_text()
    assert "Batch API" in text and "5 calls in 1 job" in text and "(50%)" in text
    empty = Console(width=140, record=True)
    Report.from_ledger(MemoryLedger()).render(empty)
    assert "Batch API" not in empty.export_text()
