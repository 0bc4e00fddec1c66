"""End to end: real ChatAnthropic over HTTP to the provider simulator, every call style, and
prompt caching with cache_control (writes at the 5-minute and 1-hour rates, then reads)."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from lc_sim import LONG_PREFIX, anthropic, assert_ledger_matches

import tokenomy_langchain
from tokenomy import MemoryLedger
from tokenomy.testing import ProviderSimulator
from tokenomy_langchain import TokenomyCallbackHandler


def _cached_system(ttl: str | None = None) -> SystemMessage:
    control: dict[str, Any] = {"type": "ephemeral"}
    if ttl:
        control["ttl"] = ttl
    return SystemMessage([{"type": "text", "text": LONG_PREFIX, "cache_control": control}])


def test_invoke_and_batch(provider_simulator: ProviderSimulator) -> None:
    """invoke and batch with the handler in callbacks: tokens and cost as billed."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    model = anthropic(provider_simulator)
    model.invoke("Hello?", config={"callbacks": [handler]})
    model.batch(["One?", "Two?", "Three?"], config={"callbacks": [handler]})
    records = assert_ledger_matches(ledger, provider_simulator, calls=4)
    assert {(r.provider, r.name) for r in records} == {("anthropic", "ChatAnthropic")}


async def test_ainvoke_and_abatch(provider_simulator: ProviderSimulator) -> None:
    """ainvoke and abatch inside track()."""
    ledger = MemoryLedger()
    model = anthropic(provider_simulator)
    with tokenomy_langchain.track(ledger=ledger) as tracker:
        await model.ainvoke("Hello?")
        await model.abatch(["One?", "Two?"])
    records = assert_ledger_matches(ledger, provider_simulator, calls=3)
    assert tracker.cost == sum(r.total_cost or 0 for r in records)


def test_stream(provider_simulator: ProviderSimulator) -> None:
    """stream: usage merged from message_start and message_delta events, recorded once."""
    ledger = MemoryLedger()
    model = anthropic(provider_simulator)
    with tokenomy_langchain.track(ledger=ledger):
        list(model.stream("Tell me a story."))
    (record,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    assert record.streamed and record.ttft_ms is not None


async def test_astream(provider_simulator: ProviderSimulator) -> None:
    """astream is recorded like stream."""
    ledger = MemoryLedger()
    model = anthropic(provider_simulator)
    with tokenomy_langchain.track(ledger=ledger):
        async for _ in model.astream("Tell me a story."):
            pass
    (record,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    assert record.streamed


def test_cache_control_write_then_read(provider_simulator: ProviderSimulator) -> None:
    """A cache_control system block >1,024 tokens: the first call writes it (5-minute rate),
    the second reads it; both recorded and priced as the simulator billed them."""
    ledger = MemoryLedger()
    model = anthropic(provider_simulator)
    with tokenomy_langchain.track(ledger=ledger):
        for question in ("First?", "Second?"):
            model.invoke([_cached_system(), HumanMessage(question)])
    first, second = sorted(
        assert_ledger_matches(ledger, provider_simulator, calls=2), key=lambda r: r.timestamp
    )
    assert first.usage.cache_write_5m >= 1024 and first.usage.cache_read == 0
    assert second.usage.cache_read == first.usage.cache_write_5m
    assert first.cost is not None and first.cost.parts["cache_write_5m"] > 0
    assert second.cost is not None and second.cost.parts["cache_read"] > 0


def test_one_hour_cache_write(provider_simulator: ProviderSimulator) -> None:
    """A 1-hour cache_control write is recorded as cache_write_1h and priced at its rate."""
    ledger = MemoryLedger()
    model = anthropic(provider_simulator)
    with tokenomy_langchain.track(ledger=ledger):
        model.invoke([_cached_system("1h"), HumanMessage("First?")])
    (record,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    assert record.usage.cache_write_1h >= 1024 and record.usage.cache_write_5m == 0
    assert record.cost is not None and record.cost.parts["cache_write_1h"] > 0


def test_streamed_cache_read(provider_simulator: ProviderSimulator) -> None:
    """A streamed call reading the cache records the read from the stream's usage."""
    ledger = MemoryLedger()
    model = anthropic(provider_simulator)
    with tokenomy_langchain.track(ledger=ledger):
        model.invoke([_cached_system(), HumanMessage("First?")])
        list(model.stream([_cached_system(), HumanMessage("Second?")]))
    records = assert_ledger_matches(ledger, provider_simulator, calls=2)
    streamed = next(r for r in records if r.streamed)
    assert streamed.usage.cache_read >= 1024
