"""Simulated batch APIs (OpenAI Files + Batches, Anthropic Message Batches) through the real
SDK clients, and the prompt cache's per-model minimums and clock-driven expiry."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import openai
import pytest

from tokenomy.exceptions import ConfigurationError
from tokenomy.placement import min_cacheable_tokens
from tokenomy.testing import FakeClock, ProviderSimulator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bsim(clock: FakeClock) -> Iterator[ProviderSimulator]:
    with ProviderSimulator(batch_delay=60, clock=clock, answer="ok") as sim:
        yield sim


def _lines(n: int) -> bytes:
    rows = [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"q{i}"}]},
        }
        for i in range(n)
    ]
    return "\n".join(json.dumps(r) for r in rows).encode()


def test_openai_batch_completes_after_the_delay_with_output_and_error_files(
    bsim: ProviderSimulator, clock: FakeClock
) -> None:
    """A batch stays in_progress until batch_delay passes on the clock; then every item is
    answered once (a SimCall with batch_id/custom_id), injected failures go to the error file
    with status 500, and a retry of a failed item succeeds (times=1)."""
    oai = openai.OpenAI(base_url=bsim.openai_base_url, api_key="x", max_retries=0)
    faults = bsim.fail_batch_items(custom_ids=["r3"])
    up = oai.files.create(file=("in.jsonl", _lines(5)), purpose="batch")
    batch = oai.batches.create(
        input_file_id=up.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert oai.batches.retrieve(batch.id).status == "in_progress"
    assert bsim.calls == []
    clock.advance(60)
    done = oai.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (4, 1)
    assert done.output_file_id and done.error_file_id
    out = [json.loads(x) for x in oai.files.content(done.output_file_id).text.splitlines()]
    assert sorted(x["custom_id"] for x in out) == ["r0", "r1", "r2", "r4"]
    assert out[0]["response"]["body"]["choices"][0]["message"]["content"] == "ok"
    err = [json.loads(x) for x in oai.files.content(done.error_file_id).text.splitlines()]
    assert [(e["custom_id"], e["response"]["status_code"]) for e in err] == [("r3", 500)]
    assert sorted(c.custom_id or "" for c in bsim.calls) == ["r0", "r1", "r2", "r4"]
    assert {c.batch_id for c in bsim.calls} == {batch.id}
    assert faults.failed == {"r3": 1}
    # the retry of r3 alone succeeds
    up2 = oai.files.create(file=("retry.jsonl", _lines(4).splitlines()[3]), purpose="batch")
    again = oai.batches.create(
        input_file_id=up2.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    clock.advance(60)
    assert oai.batches.retrieve(again.id).request_counts.completed == 1  # type: ignore[union-attr]
    assert [b.id for b in oai.batches.list()] == [again.id, batch.id]


def test_openai_batch_cancel_and_bad_input(bsim: ProviderSimulator, clock: FakeClock) -> None:
    """Cancelling an unfinished batch answers nothing; duplicate custom_ids and unknown
    files are refused with 400."""
    oai = openai.OpenAI(base_url=bsim.openai_base_url, api_key="x", max_retries=0)
    up = oai.files.create(file=("in.jsonl", _lines(3)), purpose="batch")
    batch = oai.batches.create(
        input_file_id=up.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert oai.batches.cancel(batch.id).status == "cancelled"
    clock.advance(120)
    assert oai.batches.retrieve(batch.id).status == "cancelled"
    assert bsim.calls == []
    dup = oai.files.create(file=("d.jsonl", _lines(1) + b"\n" + _lines(1)), purpose="batch")
    with pytest.raises(openai.BadRequestError):
        oai.batches.create(
            input_file_id=dup.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    with pytest.raises(openai.BadRequestError):
        oai.batches.create(
            input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h"
        )


def test_anthropic_message_batch_results_and_cancel(
    bsim: ProviderSimulator, clock: FakeClock
) -> None:
    """Message Batches: in_progress until the delay, then results JSONL with succeeded and
    errored items (through the SDK's results() iterator); a cancelled batch ends with every
    item canceled and no call answered."""
    client = anthropic.Anthropic(base_url=bsim.anthropic_base_url, api_key="x", max_retries=0)
    bsim.fail_batch_items(custom_ids=["a1"])
    params = {
        "model": "claude-haiku-4-5",
        "max_tokens": 20,
        "messages": [{"role": "user", "content": "hi"}],
    }
    reqs = [{"custom_id": f"a{i}", "params": params} for i in range(3)]
    batch = client.messages.batches.create(requests=reqs)  # type: ignore[arg-type]
    assert batch.processing_status == "in_progress"
    clock.advance(60)
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert (ended.request_counts.succeeded, ended.request_counts.errored) == (2, 1)
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert results["a0"].type == "succeeded" and results["a1"].type == "errored"
    assert results["a0"].message.content[0].text == "ok"  # type: ignore[union-attr]
    assert len(bsim.calls) == 2
    other = client.messages.batches.create(requests=reqs)  # type: ignore[arg-type]
    client.messages.batches.cancel(other.id)
    assert {r.result.type for r in client.messages.batches.results(other.id)} == {"canceled"}
    assert len(bsim.calls) == 2
    assert [b.id for b in client.messages.batches.list()] == [other.id, batch.id]


def test_anthropic_cache_lifetimes_expire_on_the_clock(clock: FakeClock) -> None:
    """A 5-minute breakpoint is read within 5 minutes and written again after; a 1-hour one
    survives 30 minutes: the clock moves, nobody sleeps."""
    text = " ".join(f"Clause {i}: keep records." for i in range(400))
    with ProviderSimulator(clock=clock) as sim:
        client = anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="x")

        def ask(ttl: str) -> anthropic.types.Usage:
            control = {"type": "ephemeral", "ttl": ttl}
            return client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=10,
                system=[{"type": "text", "text": text, "cache_control": control}],  # type: ignore[typeddict-item]
                messages=[{"role": "user", "content": "q"}],
            ).usage

        assert ask("5m").cache_creation_input_tokens
        clock.advance(299)
        assert ask("5m").cache_read_input_tokens
        clock.advance(301)
        assert ask("5m").cache_creation_input_tokens
        assert ask("1h").cache_read_input_tokens  # same prefix: a read whatever the ttl asked
        sim.reset_cache()
        assert ask("1h").cache_creation_input_tokens
        clock.advance(1800)
        assert ask("1h").cache_read_input_tokens


def test_per_model_minimum_cacheable_length(clock: FakeClock) -> None:
    """With cache_min_tokens="model", a ~1,500-token breakpoint caches on Sonnet 4.5
    (minimum 1,024) but not on Haiku 4.5 (4,096)."""
    assert min_cacheable_tokens("claude-haiku-4-5") == 4096
    assert min_cacheable_tokens("claude-3-5-haiku-20241022") == 2048
    assert min_cacheable_tokens("claude-sonnet-4-5") == 1024
    assert min_cacheable_tokens("claude-opus-4-5") == 4096
    assert min_cacheable_tokens("gpt-4o") == 1024
    text = " ".join(f"Clause {i}: keep records." for i in range(220))
    with ProviderSimulator(clock=clock, cache_min_tokens="model") as sim:
        client = anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="x")
        for model, cached in (("claude-sonnet-4-5", True), ("claude-haiku-4-5", False)):
            usage = client.messages.create(
                model=model,
                max_tokens=10,
                system=[{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": "q"}],
            ).usage
            assert bool(usage.cache_creation_input_tokens) is cached, model
    with pytest.raises(ConfigurationError):
        ProviderSimulator(cache_min_tokens="all")
