"""CachePlacement through a real Pipeline and the real anthropic SDK against the simulator's
prompt cache (fake clock): where breakpoints go, their lifetimes, the minimum, the cap of
four, the caller's own marks kept, OpenAI prefix churn, and the writes never read."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anthropic
import pytest

from tokenomy import CachePlacement, InProcessReuse, ModelRequest, ModelResponse, Pipeline
from tokenomy.batch._wire import anthropic_params, response_from_body
from tokenomy.ledger import MemoryLedger
from tokenomy.placement import ReuseStats, unread_cache_writes
from tokenomy.placement._plan import expected_reads
from tokenomy.testing import FakeClock, ProviderSimulator

SONNET = "claude-sonnet-4-5"
SYSTEM = " ".join(f"Rule {i}: cite the clause and stay polite." for i in range(300))
DOC = " ".join(f"Paragraph {i}: the warranty lasts {i % 24} months." for i in range(200))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(0.0)


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[ProviderSimulator]:
    with ProviderSimulator(clock=clock, cache_min_tokens="model", answer="ok") as s:
        yield s


def _pipeline(sim: ProviderSimulator, policy: CachePlacement, ledger: MemoryLedger) -> Any:
    client = anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="t")

    def send(request: ModelRequest) -> ModelResponse:
        message = client.messages.create(**anthropic_params(request))
        return response_from_body("anthropic", message.model_dump(mode="json"), service_tier=None)

    pipeline = Pipeline([policy], ledger=ledger)
    return lambda request: pipeline.call(request, send)


def _req(*messages: dict[str, Any], model: str = SONNET, feature: str = "f") -> ModelRequest:
    return ModelRequest(
        model=model,
        provider="anthropic",
        messages=list(messages),
        params={"max_tokens": 8},
        tags={"feature": feature},
    )


def _sys() -> dict[str, Any]:
    return {"role": "system", "content": SYSTEM}


def test_system_prompt_written_then_read(sim: ProviderSimulator, clock: FakeClock) -> None:
    """The first call marks the system prompt (written at the 5-minute rate), the next one a
    minute later reads it; the records carry cache_placed, cache_write_keys, cache_read_key."""
    ledger = MemoryLedger()
    call = _pipeline(sim, CachePlacement(clock=clock), ledger)
    call(_req(_sys(), {"role": "user", "content": "q1"}))
    clock.advance(60)
    call(_req(_sys(), {"role": "user", "content": "q2"}))
    first, second = ledger.query()
    assert first.usage.cache_write_5m > 2000 and first.usage.cache_read == 0
    assert second.usage.cache_read == first.usage.cache_write_5m
    assert first.tags["cache_placed"] == "system:5m"
    key = first.tags["cache_write_keys"].split(":")[0]
    assert second.tags["cache_read_key"] == key
    body = sim.requests[-1].body
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert unread_cache_writes(ledger)[0].unread == 0


def test_gaps_over_five_minutes_choose_the_hour(clock: FakeClock) -> None:
    """A prefix sent every 8 minutes: 5-minute writes would never be read, so after a few
    sendings the policy picks the 1-hour lifetime; a prefix sent every 2 hours gets none."""
    every_8 = InProcessReuse()
    every_120 = InProcessReuse()
    for n in range(6):
        every_8.observe("k", n * 480.0)
        every_120.observe("k", n * 7200.0)
    s8, s120 = every_8.stats("k"), every_120.stats("k")
    assert s8 == ReuseStats(6, 2400.0, (480.0,) * 5)
    assert expected_reads(s120, "1h", "system") * 0.9 < 1.0  # reads never repay the hour
    assert expected_reads(s8, "5m", "system") < 0.5 < expected_reads(s8, "1h", "system")
    placement = CachePlacement(clock=clock, reuse=every_8)
    # the family key of a system candidate is its prefix key: feed the real key
    from tokenomy.placement._plan import candidates

    count = placement._count(SONNET)
    key = candidates(SONNET, [_sys(), {"role": "user", "content": "q"}], (), count=count)[0].family
    for n in range(6):
        placement.reuse.observe(key, n * 480.0)
    clock.advance(3000)
    placed = placement.before(_req(_sys(), {"role": "user", "content": "q"}))
    assert placed.messages[0]["content"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    rare = CachePlacement(clock=clock, reuse=every_120)
    for n in range(6):
        rare.reuse.observe(key, n * 7200.0 - 50000)
    assert (
        rare.before(_req(_sys(), {"role": "user", "content": "q"})).tags.get("cache_placed") is None
    )


def test_minimum_cap_of_four_and_callers_marks(sim: ProviderSimulator, clock: FakeClock) -> None:
    """Haiku 4.5 (minimum 4,096): a ~2,400-token system prompt gets no breakpoint; six
    documents get at most four; a request already carrying cache_control is left alone."""
    policy = CachePlacement(clock=clock)
    short = policy.before(_req(_sys(), {"role": "user", "content": "q"}, model="claude-haiku-4-5"))
    assert "cache_placed" not in short.tags
    parts = [{"type": "text", "text": f"Doc {n}. {DOC}"} for n in range(6)]
    parts.append({"type": "text", "text": "Which document mentions 7 months?"})
    many = policy.before(_req(_sys(), {"role": "user", "content": parts}))
    marks = many.tags["cache_placed"].split(",")
    assert len(marks) == 4 and marks[0] == "system:5m"
    assert sum("cache_control" in p for p in many.messages[1]["content"]) == 3
    assert "cache_control" not in many.messages[1]["content"][-1]
    own = _req(
        {
            "role": "system",
            "content": [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
        },
        {"role": "user", "content": "q"},
    )
    assert policy.before(own) is own


def test_conversation_prefix_and_unread_document(sim: ProviderSimulator, clock: FakeClock) -> None:
    """A conversation's earlier turns are marked and read by the next turn; a document asked
    about once is written and never read: unread_cache_writes reports it and its loss."""
    ledger = MemoryLedger()
    call = _pipeline(sim, CachePlacement(clock=clock), ledger)
    history: list[dict[str, Any]] = [_sys()]
    for k in range(3):
        history.append({"role": "user", "content": f"Turn {k}: " + "tell me more. " * 150})
        answer = call(_req(*history, feature="chat"))
        history.append({"role": "assistant", "content": answer.text})
        clock.advance(90)
    chat = [r for r in ledger.query() if r.tags["feature"] == "chat"]
    assert "conversation" in chat[1].tags["cache_placed"]
    assert chat[2].usage.cache_read > chat[1].usage.cache_read > 0
    call(
        _req(
            _sys(),
            {
                "role": "user",
                "content": [{"type": "text", "text": DOC}, {"type": "text", "text": "q"}],
            },
            feature="rag",
        )
    )
    rows = {u.key["feature"]: u for u in unread_cache_writes(ledger)}
    assert (
        rows["rag"].unread > 1000 and rows["rag"].lost is not None and rows["rag"].lost > Decimal(0)
    )
    assert rows["chat"].unread < rows["chat"].written


def test_openai_prefix_churn_is_reported(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """OpenAI requests are not changed; a feature whose long prompts start with a timestamp
    is listed (and logged once), one with a stable prefix is not."""
    policy = CachePlacement(clock=clock)
    for n in range(4):
        volatile = ModelRequest(
            model="gpt-4o",
            messages=[
                {"role": "system", "content": f"Now: {n}. " + SYSTEM},
                {"role": "user", "content": "q"},
            ],
            tags={"feature": "news"},
        )
        stable = ModelRequest(
            model="gpt-4o",
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"q{n}"}],
            tags={"feature": "faq"},
        )
        assert policy.before(volatile) is volatile
        policy.before(stable)
    churn = policy.volatile_prefixes()
    assert [(c.feature, c.calls, c.distinct) for c in churn] == [("news", 4, 4)]
    assert sum("'news'" in r.getMessage() for r in caplog.records) == 1


def test_report_shows_unread_cache_writes(sim: ProviderSimulator, clock: FakeClock) -> None:
    """The rendered report has an 'Unread cache writes' line next to the prompt cache's when a
    placed write was never read."""
    from rich.console import Console

    from tokenomy import Report

    ledger = MemoryLedger()
    call = _pipeline(sim, CachePlacement(clock=clock), ledger)
    call(
        _req(
            _sys(),
            {
                "role": "user",
                "content": [{"type": "text", "text": DOC}, {"type": "text", "text": "q"}],
            },
            feature="rag",
        )
    )
    report = Report.from_ledger(ledger)
    assert report.unread_cache_writes()[0].unread > 0
    console = Console(width=160, record=True)
    report.render(console, by="feature")
    assert "Unread cache writes" in console.export_text()
