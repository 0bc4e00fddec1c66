"""End to end: real ChatOpenAI (chat completions and Responses API) over HTTP to the provider
simulator; the ledger must hold the tokens the simulator billed, at the price book's cost."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from lc_sim import LONG_PREFIX, assert_ledger_matches, openai_chat, openai_responses, price

import tokenomy_langchain
from tokenomy import EstimatedUsageWarning, MemoryLedger, Usage
from tokenomy.testing import Fault, ProviderSimulator
from tokenomy_langchain import TokenomyCallbackHandler

Factory = Callable[[ProviderSimulator], ChatOpenAI]
APIS: dict[str, Factory] = {"chat": openai_chat, "responses": openai_responses}


@pytest.fixture(params=sorted(APIS))
def make_model(request: pytest.FixtureRequest) -> Factory:
    return APIS[request.param]


@pytest.fixture
def reasoning_simulator(
    provider_simulator_factory: Callable[..., ProviderSimulator],
) -> ProviderSimulator:
    """A simulator whose o4-mini and gpt-5 models report reasoning tokens."""
    return provider_simulator_factory(reasoning_tokens={"o4-mini*": 96, "gpt-5*": 48})


def test_invoke(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """invoke with the handler in callbacks: one record per call, tokens and cost as billed."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    model = make_model(provider_simulator)
    model.invoke("What is the capital of France?", config={"callbacks": [handler]})
    model.invoke("And of Spain?", config={"callbacks": [handler]})
    records = assert_ledger_matches(ledger, provider_simulator, calls=2)
    assert {r.name for r in records} == {"ChatOpenAI"} and {r.provider for r in records} == {
        "openai"
    }


async def test_ainvoke(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """ainvoke inside track(): recorded and totalled by the yielded tracker."""
    ledger = MemoryLedger()
    model = make_model(provider_simulator)
    with tokenomy_langchain.track(ledger=ledger, feature="faq") as tracker:
        await model.ainvoke("What is the capital of France?")
    (record,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    assert tracker.cost == record.total_cost and record.tags["feature"] == "faq"


def test_batch(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """batch runs its calls on worker threads: every call is recorded once."""
    ledger = MemoryLedger()
    model = make_model(provider_simulator)
    with tokenomy_langchain.track(ledger=ledger):
        model.batch([f"Question {i}?" for i in range(5)], config={"max_concurrency": 3})
    assert_ledger_matches(ledger, provider_simulator, calls=5)


async def test_abatch(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """abatch with the sync handler passed in callbacks (run in LangChain's thread pool)."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    model = make_model(provider_simulator)
    await model.abatch([f"Question {i}?" for i in range(4)], config={"callbacks": [handler]})
    assert_ledger_matches(ledger, provider_simulator, calls=4)


def test_stream(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """A consumed stream is recorded from its final usage, flagged streamed, with a ttft."""
    ledger = MemoryLedger()
    model = make_model(provider_simulator)
    with tokenomy_langchain.track(ledger=ledger):
        text = "".join(str(c.content) for c in model.stream("Tell me a story."))
    assert text
    (record,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    assert record.streamed and record.ttft_ms is not None
    assert record.latency_ms is not None and record.ttft_ms <= record.latency_ms


async def test_astream(provider_simulator: ProviderSimulator, make_model: Factory) -> None:
    """astream is recorded like stream."""
    ledger = MemoryLedger()
    model = make_model(provider_simulator)
    with tokenomy_langchain.track(ledger=ledger):
        async for _ in model.astream("Tell me a story."):
            pass
    (record,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    assert record.streamed


def test_cached_prefix_is_priced_at_the_cache_rate(
    provider_simulator: ProviderSimulator, make_model: Factory
) -> None:
    """The same >1,024-token prefix sent twice: the second call reports cached tokens, and the
    ledger holds them (part of input) and prices them at the cache-read rate."""
    ledger = MemoryLedger()
    model = make_model(provider_simulator)
    with tokenomy_langchain.track(ledger=ledger):
        for question in ("First question?", "Second question?"):
            model.invoke([SystemMessage(LONG_PREFIX), HumanMessage(question)])
    first, second = sorted(
        assert_ledger_matches(ledger, provider_simulator, calls=2), key=lambda r: r.timestamp
    )
    assert first.usage.cache_read == 0 and second.usage.cache_read >= 1024
    assert second.cost is not None and second.cost.parts["cache_read"] > 0
    assert second.total_cost is not None and first.total_cost is not None
    assert second.total_cost < first.total_cost


@pytest.mark.parametrize(
    ("factory", "name"), [(openai_responses, "o4-mini"), (openai_chat, "gpt-5-mini")]
)
@pytest.mark.parametrize("streamed", [False, True])
def test_reasoning_tokens_are_recorded_and_priced(
    reasoning_simulator: ProviderSimulator, factory: Factory, name: str, streamed: bool
) -> None:
    """Reasoning tokens the simulator reports (part of output) reach the ledger and its cost,
    streamed or not."""
    ledger = MemoryLedger()
    model = factory(reasoning_simulator, model=name)  # type: ignore[call-arg]
    with tokenomy_langchain.track(ledger=ledger):
        if streamed:
            list(model.stream("Think, then answer."))
        else:
            model.invoke("Think, then answer.")
    (record,) = assert_ledger_matches(ledger, reasoning_simulator, calls=1)
    assert record.usage.reasoning == reasoning_simulator.calls[0].usage.reasoning > 0
    assert record.total_cost == price(record.model, record.usage)


def test_stream_without_stream_usage_is_estimated(provider_simulator: ProviderSimulator) -> None:
    """ChatOpenAI with a base_url streams without usage unless stream_usage=True: the record is
    then estimated (flagged) from the prompt and the streamed text."""
    ledger = MemoryLedger()
    model = openai_chat(provider_simulator, model="gpt-4o", stream_usage=None)
    with tokenomy_langchain.track(ledger=ledger), pytest.warns(EstimatedUsageWarning):
        list(model.stream("Tell me a story."))
    (call,) = provider_simulator.calls
    assert not call.usage_reported
    (record,) = ledger.query()
    assert record.estimated and record.usage.estimated and record.priced
    assert record.usage.output == call.usage.output and record.usage.input > 0


def test_provider_error_is_recorded_without_cost(provider_simulator: ProviderSimulator) -> None:
    """A 500 from the provider raises to the caller and is recorded with the SDK error's class
    name, zero tokens, $0."""
    ledger = MemoryLedger()
    provider_simulator.inject(Fault.server_error())
    model = openai_chat(provider_simulator)
    with tokenomy_langchain.track(ledger=ledger), pytest.raises(Exception) as raised:
        model.invoke("hello")
    (record,) = ledger.query()
    assert record.error == type(raised.value).__name__
    assert record.usage == Usage() and record.total_cost == 0
