"""tokenomy_llamaindex.track()/instrument()/uninstrument(): attaching to the root dispatcher,
what is recorded outside track() blocks, tags, the run tree from spans, attribution of
streams, threads and tasks, and failed calls."""

from __future__ import annotations

import asyncio
import threading
import warnings
from typing import Any

import pytest
from li_fakes import UsageLLM, price
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.llms.callbacks import llm_completion_callback

import tokenomy
import tokenomy_llamaindex as tli
from tokenomy import MemoryLedger, TokenomyWarning, Usage, WarnOnce
from tokenomy_llamaindex import TokenomyEventHandler, TokenomySpanHandler

MESSAGES = [ChatMessage(role="user", content="hi")]
dispatcher = get_dispatcher("tests.llamaindex.test_li_track")


def _ours() -> tuple[list[Any], list[Any]]:
    root = get_dispatcher()
    events = [h for h in root.event_handlers if isinstance(h, TokenomyEventHandler)]
    spans = [h for h in root.span_handlers if isinstance(h, TokenomySpanHandler)]
    return events, spans


def test_track_attaches_once_even_from_many_threads() -> None:
    """Concurrent first uses of track() attach exactly one event handler and one span
    handler to the root dispatcher; later blocks reuse them."""
    barrier = threading.Barrier(8)

    def enter() -> None:
        barrier.wait()
        with tli.track(worker="w"):
            pass

    threads = [threading.Thread(target=enter) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with tli.track():
        pass
    events, spans = _ours()
    assert len(events) == 1 and len(spans) == 1
    assert not events[0].record_outside_track


def test_handler_attached_by_track_records_only_inside_blocks(ledger: MemoryLedger) -> None:
    """Attached only by track(), the handler ignores calls made outside every block; inside,
    records carry the block's tags and the tracker totals them."""
    llm = UsageLLM(usage=Usage(input=100, output=20))
    other = MemoryLedger()
    previous = tokenomy.set_default_ledger(other)
    try:
        with tli.track(ledger=ledger, feature="search", user="u1") as tracker:
            llm.complete("a")
            llm.chat(MESSAGES)
        llm.complete("outside")  # not recorded anywhere
    finally:
        tokenomy.set_default_ledger(previous)
    assert len(ledger) == 2 and len(other) == 0
    assert tracker.calls == 2
    assert tracker.cost == 2 * price("gpt-4o-mini", Usage(input=100, output=20))
    assert all(r.tags["feature"] == "search" and r.tags["user"] == "u1" for r in ledger.query())
    assert tracker.report().totals.count == 2


def test_instrument_ledger_wins_over_a_blocks_and_the_block_still_counts(
    ledger: MemoryLedger,
) -> None:
    """After instrument(ledger=...), calls outside any block and inside a block that names its
    own ledger all go to the handler's ledger (its explicit configuration wins, the rule of
    store_call); the block still counts and tags its call. instrument() is idempotent and
    upgrades track()'s handler."""
    llm = UsageLLM()
    with tli.track():
        pass
    handler = tli.instrument(ledger=ledger)
    assert tli.instrument() is handler and handler.record_outside_track
    inner = MemoryLedger()
    llm.complete("outside")
    with tli.track(ledger=inner, feature="f") as block:
        llm.complete("inside")
    assert len(ledger) == 2 and len(inner) == 0
    assert block.calls == 1 and block.records[0].tags["feature"] == "f"
    assert "feature" not in ledger.query()[0].tags
    assert len(_ours()[0]) == 1


def test_a_blocks_ledger_and_book_apply_when_the_handler_names_none() -> None:
    """A handler with no ledger or price book of its own records a block's calls to the
    block's ledger, priced by the block's book; outside the block, to the process default."""
    from decimal import Decimal

    from tokenomy import ModelPrice, PriceBook

    llm = UsageLLM()
    tli.instrument()
    inner = MemoryLedger()
    book = PriceBook.default().with_overrides(
        {llm.metadata.model_name: ModelPrice(input=Decimal(1), output=Decimal(1))}
    )
    with tli.track(ledger=inner, price_book=book):
        llm.complete("inside")
    (record,) = inner.query()
    assert record.cost is not None and record.cost.total == record.usage.total


def test_uninstrument_stops_recording(ledger: MemoryLedger) -> None:
    """uninstrument() detaches both handlers: later calls are not recorded."""
    llm = UsageLLM()
    tli.instrument(ledger=ledger)
    llm.complete("a")
    tli.uninstrument()
    llm.complete("b")
    assert len(ledger) == 1
    assert _ours() == ([], [])


@dispatcher.span
def _answer_twice(llm: UsageLLM) -> None:
    llm.complete("first")
    llm.chat(MESSAGES)


def test_records_of_one_root_span_form_one_run(ledger: MemoryLedger) -> None:
    """Calls made under one span share its id as root_run_id, their run_id is the LLM call's
    span and the root span's name is tag run_name; the report shows one run with both calls."""
    llm = UsageLLM()
    with tli.track(ledger=ledger) as tracker:
        _answer_twice(llm)
        llm.complete("alone")
    first, second, alone = ledger.query()
    root = first.root_run_id
    assert root is not None and root.startswith("_answer_twice-")
    assert second.root_run_id == root and first.parent_run_id == root
    assert first.run_id is not None and first.run_id.startswith("UsageLLM.complete-")
    assert first.tags["run_name"] == "_answer_twice"
    assert alone.root_run_id == alone.run_id and alone.tags["run_name"] == "UsageLLM.complete"
    runs = tracker.report().runs()
    assert sorted(len(r.calls) for r in runs) == [1, 2]
    assert {r.label for r in runs} == {"_answer_twice", "UsageLLM.complete"}


def test_a_run_name_tag_set_by_the_user_wins(ledger: MemoryLedger) -> None:
    """track(run_name=...) is kept: the root span's name does not override it."""
    with tli.track(ledger=ledger, run_name="nightly-eval"):
        _answer_twice(UsageLLM())
    assert {r.tags["run_name"] for r in ledger.query()} == {"nightly-eval"}


def test_a_stream_is_attributed_to_the_block_it_started_in(ledger: MemoryLedger) -> None:
    """A stream started inside a block and consumed after it is still recorded in that block
    (tags, tracker, ledger): the context is captured when the call starts."""
    llm = UsageLLM()
    with tli.track(ledger=ledger, feature="f") as tracker:
        stream = llm.stream_complete("a")
    pieces = list(stream)
    assert len(pieces) == 3
    (record,) = ledger.query()
    assert record.streamed and record.tags["feature"] == "f"
    assert tracker.calls == 1


def test_calls_in_threads_and_tasks_are_attributed_to_the_block(ledger: MemoryLedger) -> None:
    """asyncio tasks (which copy the context) and threads wrapped in tokenomy.run_in_context
    record into the enclosing block."""
    llm = UsageLLM()

    async def main() -> None:
        await asyncio.gather(*(llm.acomplete("x") for _ in range(3)))

    with tli.track(ledger=ledger) as tracker:
        asyncio.run(main())
        t = threading.Thread(target=tokenomy.run_in_context(lambda: llm.complete("y")))
        t.start()
        t.join()
    assert tracker.calls == 4 == len(ledger)


class _Failing(UsageLLM):
    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        raise TimeoutError("provider timed out")


def test_a_failed_call_is_recorded_with_zero_tokens_and_its_error(ledger: MemoryLedger) -> None:
    """A call that raised before any response is recorded (never dropped) with zero tokens
    (nothing was billed) and error = the exception's class name; so is chat → complete, once."""
    llm = _Failing()
    with tli.track(ledger=ledger):
        with pytest.raises(TimeoutError):
            llm.complete("a")
        with pytest.raises(TimeoutError):
            llm.chat(MESSAGES)
    first, second = ledger.query()
    assert first.error == second.error == "TimeoutError"
    assert first.usage == Usage() and not first.estimated
    assert first.total_cost == 0


@pytest.mark.filterwarnings("ignore::tokenomy.exceptions.EstimatedUsageWarning")
def test_a_stream_failing_midway_or_closed_early_is_recorded(ledger: MemoryLedger) -> None:
    """A stream that raises after some pieces, or that the caller stops reading, is recorded
    once with the tokens received so far (estimated) and error set."""
    with tli.track(ledger=ledger):
        with pytest.raises(ConnectionError):
            list(UsageLLM(fail_after=1).stream_chat(MESSAGES))
        stream = UsageLLM().stream_complete("a")
        next(stream)
        stream.close()
    broken, closed = ledger.query()
    assert broken.error == "ConnectionError" and broken.estimated and broken.usage.output > 0
    assert closed.error == "GeneratorExit" and closed.streamed


def test_without_the_span_handler_the_event_handler_warns_once(
    ledger: MemoryLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TokenomyEventHandler attached by hand without TokenomySpanHandler still records, and
    warns (once) that the run tree and deduplication need the span handler."""
    from tokenomy_llamaindex import _events, _spans

    monkeypatch.setattr(_spans.TREE, "seen_any", False)
    monkeypatch.setattr(_events, "NO_SPANS_WARNING", WarnOnce())
    root = get_dispatcher()
    handler = TokenomyEventHandler(ledger=ledger)
    root.add_event_handler(handler)
    try:
        with pytest.warns(TokenomyWarning, match="instrument"):
            UsageLLM().complete("a")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            UsageLLM().complete("b")
    finally:
        tli.uninstrument()
    assert len(ledger) == 2


def test_instrument_without_a_ledger_uses_the_default_ledger() -> None:
    """instrument() with no ledger records calls outside blocks into tokenomy's default
    ledger (the one TOKENOMY_LEDGER names, or set_default_ledger's)."""
    store = MemoryLedger()
    previous = tokenomy.set_default_ledger(store)
    try:
        tli.instrument()
        UsageLLM().complete("a")
    finally:
        tokenomy.set_default_ledger(previous)
    assert len(store) == 1


def test_include_stream_usage_sets_stream_options_and_refuses_other_llms() -> None:
    """include_stream_usage() asks an OpenAI-style LLM for usage in streams (keeping other
    stream options) and says what to do for an LLM without additional_kwargs."""
    from llama_index.llms.openai import OpenAI

    llm = OpenAI(model="gpt-4o-mini", api_key="x", additional_kwargs={"stream_options": {"a": 1}})
    assert tli.include_stream_usage(llm) is llm
    assert llm.additional_kwargs["stream_options"] == {"a": 1, "include_usage": True}
    with pytest.raises(tokenomy.ConfigurationError, match="OpenAI-compatible"):
        tli.include_stream_usage(object())


def test_the_handlers_price_book_wins_over_the_blocks(ledger: MemoryLedger) -> None:
    """instrument(price_book=...) prices every record it makes, inside a track(price_book=...)
    block too (a handler's explicit configuration wins, the rule of store_call)."""
    from decimal import Decimal

    from tokenomy import ModelPrice, PriceBook

    block_book = PriceBook.default().with_overrides(
        {"gpt-4o-mini": ModelPrice(input=Decimal(1), output=Decimal(0))}
    )
    handler_book = PriceBook.default().with_overrides(
        {"gpt-4o-mini": ModelPrice(input=Decimal(2), output=Decimal(0))}
    )
    llm = UsageLLM(usage=Usage(input=3, output=1))
    tli.instrument(ledger=ledger, price_book=handler_book)
    with tli.track(price_book=block_book):
        llm.complete("in the block")
    llm.complete("outside")
    assert [r.total_cost for r in ledger.query()] == [Decimal(6), Decimal(6)]


def test_concurrent_calls_from_many_threads_are_each_recorded_once(ledger: MemoryLedger) -> None:
    """Sixteen threads making sync and streamed calls at once: every call is recorded once
    and the recorder keeps no open call afterwards."""
    llm = UsageLLM()
    handler = tli.instrument(ledger=ledger)

    def work() -> None:
        for _ in range(10):
            llm.chat(MESSAGES)
            list(llm.stream_complete("x"))

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ledger) == 320
    assert sum(r.streamed for r in ledger.query()) == 160
    assert not handler.recorder._open
