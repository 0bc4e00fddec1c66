"""tokenomy_langchain.track() and the handler driven through LangChain's own call paths,
with in-process models (real BaseChatModel/BaseLLM subclasses, no network)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.globals import set_llm_cache
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import tool
from lc_fakes import TinyChat, TinyLLM

import tokenomy
import tokenomy_langchain
from tokenomy import EstimatedUsageWarning, MemoryLedger, PriceBook, Usage
from tokenomy_langchain import TokenomyCallbackHandler

ONE = Usage(input=12, output=5)


def _one_cost() -> Decimal:
    cost = PriceBook.default().price("gpt-4o-mini", ONE)
    assert cost is not None
    return cost.total


@pytest.fixture
def global_llm_cache() -> Iterator[InMemoryCache]:
    cache = InMemoryCache()
    set_llm_cache(cache)
    try:
        yield cache
    finally:
        set_llm_cache(None)


def test_track_attaches_to_every_call_style_without_callbacks() -> None:
    """Inside track(), invoke/batch/stream calls are recorded with no callbacks passed, get the
    block's tags, and the yielded tracker totals them."""
    ledger = MemoryLedger()
    model = TinyChat()
    with tokenomy_langchain.track(ledger=ledger, feature="search") as tracker:
        model.invoke("a")
        model.batch(["b", "c"])
        list(model.stream("d"))
    assert tracker.calls == 4 == len(ledger)
    assert all(r.usage == ONE and r.tags["feature"] == "search" for r in ledger.query())
    assert tracker.cost == 4 * _one_cost()
    assert [r.streamed for r in ledger.query()].count(True) == 1
    model.invoke("after the block")
    assert len(ledger) == 4


async def test_track_covers_async_calls() -> None:
    """ainvoke, abatch and astream inside track() are recorded like their sync forms."""
    ledger = MemoryLedger()
    model = TinyChat()
    with tokenomy_langchain.track(ledger=ledger) as tracker:
        await model.ainvoke("a")
        await model.abatch(["b", "c"])
        async for _ in model.astream("d"):
            pass
    assert tracker.calls == 4 and tracker.usage == Usage(input=48, output=20)


async def test_sync_handler_in_async_run_and_concurrent_tasks() -> None:
    """A sync handler passed to concurrent ainvoke calls (run by LangChain in its thread pool)
    records each call once, with the tags of the track() block around each task."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    model = TinyChat()

    async def one(user: str) -> None:
        with tokenomy.track(user=user):
            await model.ainvoke(user, config={"callbacks": [handler]})

    await asyncio.gather(*(one(f"u{i}") for i in range(8)))
    assert sorted(r.tags["user"] for r in ledger.query()) == [f"u{i}" for i in range(8)]
    assert handler.recorded == 8 and handler.open_runs == 0


def test_explicit_handler_inside_track_records_once_into_its_ledger() -> None:
    """A handler passed in callbacks inside track() records the call instead of the attached
    one (never both); the tracker still counts it."""
    block_ledger, own_ledger = MemoryLedger(), MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=own_ledger)
    model = TinyChat()
    with tokenomy_langchain.track(ledger=block_ledger) as tracker:
        model.invoke("a", config={"callbacks": [handler]})
        model.invoke("b")
    assert len(own_ledger) == 1 and len(block_ledger) == 1
    assert tracker.calls == 2


def test_nested_blocks_record_once_and_count_in_both() -> None:
    """Nested track() blocks: a call records once, with inner tags over outer ones, and counts
    in both trackers."""
    ledger = MemoryLedger()
    with tokenomy_langchain.track(ledger=ledger, feature="outer", team="t") as outer:
        with tokenomy_langchain.track(feature="inner") as inner:
            TinyChat().invoke("a")
        assert tokenomy_langchain.current_handler() is not None
    assert tokenomy_langchain.current_handler() is None
    (record,) = ledger.query()
    assert record.tags["feature"] == "inner" and record.tags["team"] == "t"
    assert outer.calls == inner.calls == 1


def test_track_tags_win_over_langchain_metadata() -> None:
    """A track() tag is not overwritten by a LangChain metadata key of the same name; other
    metadata keys are added."""
    ledger = MemoryLedger()
    chain = RunnableLambda(lambda x: TinyChat().invoke(x))
    with tokenomy_langchain.track(ledger=ledger, feature="search"):
        chain.invoke("a", config={"metadata": {"feature": "other", "user_id": "u1"}})
    tags = ledger.query()[0].tags
    assert tags["feature"] == "search" and tags["user_id"] == "u1"


def test_chain_run_name_and_root_id() -> None:
    """Calls inside a chain get the chain's run_name as tag run_name and its run id as root."""
    ledger = MemoryLedger()
    model = TinyChat()

    def two_calls(x: str) -> str:
        model.invoke(x)
        return model.invoke(x).text

    chain = RunnableLambda(two_calls).with_config(run_name="summarise")
    with tokenomy_langchain.track(ledger=ledger):
        chain.invoke("a")
    first, second = ledger.query()
    assert first.tags["run_name"] == second.tags["run_name"] == "summarise"
    assert first.root_run_id == second.root_run_id != first.run_id
    assert first.parent_run_id == first.root_run_id


def test_plain_thread_inside_a_tool_keeps_the_block_tags() -> None:
    """A tool that calls a model from a plain threading.Thread (no context copied), passing its
    config on, is recorded with the track() block's tags and under the chain's root."""
    ledger = MemoryLedger()
    model = TinyChat()

    @tool
    def look_up(query: str, config: RunnableConfig) -> str:
        """Look something up."""
        out: list[str] = []
        worker = threading.Thread(target=lambda: out.append(model.invoke(query, config).text))
        worker.start()
        worker.join()
        return out[0]

    chain = RunnableLambda(lambda x: look_up.invoke(x)).with_config(run_name="agent")
    handler = TokenomyCallbackHandler()
    with tokenomy_langchain.track(ledger=ledger, feature="research") as tracker:
        chain.invoke("q", config={"callbacks": [handler]})
    (record,) = ledger.query()
    assert record.tags["feature"] == "research" and record.tags["run_name"] == "agent"
    assert tracker.calls == 1


def test_global_llm_cache_hit_is_a_saving(global_llm_cache: InMemoryCache) -> None:
    """With set_llm_cache(InMemoryCache()), the repeated call is recorded as a cache hit: $0,
    no tokens, saved = the first call's cost; the tracker's spend counts only the first."""
    ledger = MemoryLedger()
    model = TinyChat()
    with tokenomy_langchain.track(ledger=ledger) as tracker:
        model.invoke("same")
        model.invoke("same")
    miss, hit = ledger.query()
    assert not miss.is_cache_hit and miss.usage == ONE
    assert hit.is_cache_hit and hit.usage == Usage() and hit.total_cost == 0
    assert hit.cache.saved == miss.total_cost == _one_cost()
    assert tracker.cost == _one_cost() and tracker.saved == _one_cost()


async def test_per_model_cache_hit_async() -> None:
    """A model's own cache= (no global cache) hit through ainvoke is recorded as a hit too."""
    ledger = MemoryLedger()
    model = TinyChat(cache=InMemoryCache())
    with tokenomy_langchain.track(ledger=ledger):
        await model.ainvoke("same")
        await model.ainvoke("same")
    assert [r.is_cache_hit for r in ledger.query()] == [False, True]
    assert ledger.query()[1].cache.saved == _one_cost()


def test_n_choices_count_once_through_invoke() -> None:
    """A model answering n=3 choices with the response's usage on each records that usage once."""
    ledger = MemoryLedger()
    with tokenomy_langchain.track(ledger=ledger):
        TinyChat(n=3).generate([[HumanMessage("a")]])
    assert ledger.query()[0].usage == ONE


def test_legacy_llm_batch_counts_tokens_once() -> None:
    """A legacy LLM's batch (one provider call, usage in llm_output) records one run per
    prompt whose tokens add up to the call's usage exactly once."""
    ledger = MemoryLedger()
    with tokenomy_langchain.track(ledger=ledger) as tracker:
        TinyLLM().batch(["a", "b", "c"])
    assert tracker.calls == 3
    assert tracker.usage == Usage(input=21, output=9)
    assert {r.kind for r in ledger.query()} == {"completion"}


def test_model_error_is_recorded_and_reraised_to_the_caller() -> None:
    """A failing call raises to the user as usual and leaves an error record with no cost."""
    ledger = MemoryLedger()
    with tokenomy_langchain.track(ledger=ledger), pytest.raises(RuntimeError, match="boom"):
        TinyChat(fail_with="boom").invoke("a")
    (record,) = ledger.query()
    assert record.error == "RuntimeError" and record.total_cost == 0


@pytest.mark.filterwarnings("ignore::tokenomy.EstimatedUsageWarning")
def test_stream_cut_after_text_is_estimated() -> None:
    """A stream that fails after some text is recorded as an error whose tokens are estimated
    (the provider billed them) and flagged estimated."""
    ledger = MemoryLedger()
    model = TinyChat(fail_with="cut", reply="alpha beta gamma", model_name="gpt-4.1-mini")
    with tokenomy_langchain.track(ledger=ledger), pytest.raises(RuntimeError):
        list(model.stream("hello there"))
    (record,) = ledger.query()
    assert record.error == "RuntimeError" and record.estimated
    assert record.usage.input > 0 and record.usage.output > 0


def test_call_without_usage_is_estimated_and_warned() -> None:
    """A model reporting no usage is recorded with estimated tokens, flagged, and one
    EstimatedUsageWarning per model."""
    ledger = MemoryLedger()
    model = TinyChat(usage=None, model_name="gpt-4o-2024-08-06", reply="four words here now")
    with tokenomy_langchain.track(ledger=ledger), pytest.warns(EstimatedUsageWarning):
        model.invoke("hello")
    (record,) = ledger.query()
    assert record.estimated and record.usage.estimated
    assert record.usage.output == 4 and record.usage.input > 0 and record.priced


@pytest.mark.filterwarnings("ignore::tokenomy.EstimatedUsageWarning")
def test_stream_abandoned_by_the_consumer_is_estimated() -> None:
    """Breaking out of a stream before its usage arrives records a GeneratorExit whose prompt
    (and any text so far) is estimated: the provider was called and billed it."""
    ledger = MemoryLedger()
    model = TinyChat(reply="alpha beta gamma", model_name="gpt-4.1-mini")
    with tokenomy_langchain.track(ledger=ledger):
        for _ in model.stream("hello there"):
            break
    (record,) = ledger.query()
    assert record.error == "GeneratorExit" and record.estimated
    assert record.usage.input > 0


def test_price_book_of_the_block_and_of_the_handler() -> None:
    """track(price_book=...) prices the block's calls with that book, and a handler's own
    price_book wins for the calls it records."""
    from tokenomy import ModelPrice

    house = PriceBook.default().with_overrides(
        {"my-model": ModelPrice.per_million(input=1_000_000, output=2_000_000)}
    )
    other = PriceBook.default().with_overrides(
        {"my-model": ModelPrice.per_million(input=3_000_000, output=0)}
    )
    ledger = MemoryLedger()
    model = TinyChat(model_name="my-model")
    with tokenomy_langchain.track(ledger=ledger, price_book=house, name="pricing") as tracker:
        model.invoke("a")
        model.invoke("b", config={"callbacks": [TokenomyCallbackHandler(price_book=other)]})
    first, second = ledger.query()
    assert first.total_cost == Decimal(12 * 1 + 5 * 2)
    assert second.total_cost == Decimal(12 * 3)
    assert tracker.name == "pricing" and tracker.cost == Decimal(58)
