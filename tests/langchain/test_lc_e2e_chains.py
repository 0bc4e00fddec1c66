"""End to end through chains: a tool-calling agent loop, a tool that calls a model, a
RunnableParallel over two providers, worker threads, a sync handler in an async run and the
LangChain LLM cache, all with real clients against the provider simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.globals import set_llm_cache
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableLambda, RunnableParallel
from langchain_core.tools import tool
from lc_sim import anthropic, assert_ledger_matches, openai_chat, openai_responses, price

import tokenomy
import tokenomy_langchain
from tokenomy import MemoryLedger
from tokenomy.testing import Answer, ProviderSimulator
from tokenomy_langchain import TokenomyCallbackHandler


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}."


@pytest.fixture
def global_llm_cache() -> Iterator[None]:
    set_llm_cache(InMemoryCache())
    try:
        yield
    finally:
        set_llm_cache(None)


def test_tool_calling_agent_loop(provider_simulator: ProviderSimulator) -> None:
    """A model → tool → model loop inside one chain: both model calls recorded under the chain's
    root with its run_name, tokens and cost as billed."""
    provider_simulator.script(
        Answer.tool("get_weather", {"city": "Paris"}), "It is sunny in Paris."
    )
    model = openai_chat(provider_simulator).bind_tools([get_weather])

    def agent(question: str) -> str:
        messages: list[BaseMessage] = [HumanMessage(question)]
        while True:
            reply = model.invoke(messages)
            assert isinstance(reply, AIMessage)
            messages.append(reply)
            if not reply.tool_calls:
                return str(reply.content)
            for call in reply.tool_calls:
                result = get_weather.invoke(call["args"])
                messages.append(ToolMessage(result, tool_call_id=call["id"] or ""))

    ledger = MemoryLedger()
    chain = RunnableLambda(agent).with_config(run_name="weather_agent")
    with tokenomy_langchain.track(ledger=ledger, feature="weather"):
        assert chain.invoke("Weather in Paris?") == "It is sunny in Paris."
    records = assert_ledger_matches(ledger, provider_simulator, calls=2)
    assert {r.tags["run_name"] for r in records} == {"weather_agent"}
    assert len({r.root_run_id for r in records}) == 1
    assert all(r.root_run_id != r.run_id for r in records)


def test_tool_that_calls_a_model(provider_simulator: ProviderSimulator) -> None:
    """A tool calling a model from inside: recorded with the tool run as parent and the
    outer chain as root."""
    summariser = anthropic(provider_simulator)

    @tool
    def summarise(text: str) -> str:
        """Summarise a text."""
        return str(summariser.invoke(f"Summarise: {text}").content)

    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    chain = RunnableLambda(lambda text: summarise.invoke({"text": text})).with_config(
        run_name="digest"
    )
    chain.invoke("A long text.", config={"callbacks": [handler]})
    (record,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    assert record.tags["run_name"] == "digest"
    assert record.parent_run_id not in (None, record.root_run_id)
    assert handler.open_runs == 0


def test_runnable_parallel_over_two_providers(provider_simulator: ProviderSimulator) -> None:
    """RunnableParallel runs its branches on worker threads: OpenAI Responses and Anthropic
    calls recorded once each, under the parallel's root."""
    parallel = RunnableParallel(
        openai=openai_responses(provider_simulator), claude=anthropic(provider_simulator)
    ).with_config(run_name="compare")
    ledger = MemoryLedger()
    with tokenomy_langchain.track(ledger=ledger) as tracker:
        parallel.invoke("Say hi.")
    records = assert_ledger_matches(ledger, provider_simulator, calls=2)
    assert {r.provider for r in records} == {"openai", "anthropic"}
    assert {r.tags["run_name"] for r in records} == {"compare"}
    assert tracker.cost == sum(price(c.model, c.usage) for c in provider_simulator.calls)


def test_worker_threads_with_run_in_context(provider_simulator: ProviderSimulator) -> None:
    """Calls from a plain ThreadPoolExecutor inside track(), each task wrapped in
    tokenomy.run_in_context where it is submitted, are attached and tagged per task."""
    model = openai_chat(provider_simulator)
    ledger = MemoryLedger()

    def ask(user: str) -> None:
        with tokenomy.track(user=user):
            model.invoke(f"Hello from {user}")

    with tokenomy_langchain.track(ledger=ledger, feature="fanout") as tracker:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(tokenomy.run_in_context(ask), u) for u in "abcd"]
            for future in futures:
                future.result()
    records = assert_ledger_matches(ledger, provider_simulator, calls=4)
    assert sorted(r.tags["user"] for r in records) == ["a", "b", "c", "d"]
    assert {r.tags["feature"] for r in records} == {"fanout"} and tracker.calls == 4


async def test_sync_handler_in_async_run(provider_simulator: ProviderSimulator) -> None:
    """The sync handler in concurrent ainvoke/astream calls (LangChain runs it in its thread
    pool): each call once, streamed calls flagged."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    config = {"callbacks": [handler]}
    oa, an = openai_chat(provider_simulator), anthropic(provider_simulator)

    async def drain(model: object) -> None:
        async for _ in model.astream("Stream it.", config=config):  # type: ignore[attr-defined]
            pass

    await asyncio.gather(
        oa.ainvoke("One?", config=config),
        an.ainvoke("Two?", config=config),
        drain(oa),
        drain(an),
    )
    records = assert_ledger_matches(ledger, provider_simulator, calls=4)
    assert sum(r.streamed for r in records) == 2
    assert handler.open_runs == 0 and handler.failures == 0


@pytest.mark.usefixtures("global_llm_cache")
def test_llm_cache_hit_records_saving_not_spend(provider_simulator: ProviderSimulator) -> None:
    """With set_llm_cache(InMemoryCache()) the repeated ChatOpenAI call never reaches the
    provider: it is recorded as a hit, $0 and no tokens, saving what the first call cost."""
    model = openai_chat(provider_simulator)
    ledger = MemoryLedger()
    with tokenomy_langchain.track(ledger=ledger) as tracker:
        model.invoke("Cache me.")
        model.invoke("Cache me.")
    (spent,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    (hit,) = [r for r in ledger.query() if r.is_cache_hit]
    assert hit.usage.total == 0 and hit.total_cost == 0
    assert hit.cache.saved == spent.total_cost
    assert tracker.cost == spent.total_cost and tracker.saved == spent.total_cost
