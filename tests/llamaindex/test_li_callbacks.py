"""TokenomyCallbackHandler through LlamaIndex's legacy CallbackManager: one record per call for
every call style, embeddings, failures, and never a second record when the instrumentation
handler already records the call."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from li_fakes import STYLES, UsageLLM, call_style, price
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.callbacks import CallbackManager
from llama_index.core.embeddings.mock_embed_model import MockEmbedding
from llama_index.core.llms.callbacks import llm_completion_callback

import tokenomy_llamaindex as tli
from tokenomy import MemoryLedger, Usage
from tokenomy.tokens import count_text
from tokenomy_llamaindex import TokenomyCallbackHandler

MESSAGES = [ChatMessage(role="user", content="hi")]


def _llm(handler: TokenomyCallbackHandler, **kwargs: Any) -> UsageLLM:
    return UsageLLM(callback_manager=CallbackManager([handler]), **kwargs)


@pytest.mark.parametrize("style", STYLES)
def test_each_call_style_makes_one_record(style: str, ledger: MemoryLedger) -> None:
    """Through the CallbackManager, every call style on a completion-only LLM (nested chat +
    completion callbacks) makes one record with the provider's usage and price; run ids are
    LlamaIndex span ids, like the event handler's."""
    handler = TokenomyCallbackHandler(ledger=ledger)
    call_style(_llm(handler, usage=Usage(input=64, output=8)), style)
    (record,) = ledger.query()
    assert record.usage == Usage(input=64, output=8)
    assert record.total_cost == price("gpt-4o-mini", record.usage)
    assert record.run_id is not None and record.run_id.startswith("UsageLLM.")
    assert record.ttft_ms is None  # legacy callbacks see no streamed pieces
    assert record.streamed is ("stream" in style)


def test_record_outside_track_false_records_only_inside_blocks(ledger: MemoryLedger) -> None:
    """``record_outside_track=False``: only calls made inside tokenomy.track() blocks count."""
    import tokenomy

    handler = TokenomyCallbackHandler(record_outside_track=False)
    llm = _llm(handler)
    llm.complete("outside")
    with tokenomy.track(ledger=ledger, feature="f"):
        llm.complete("inside")
    (record,) = ledger.query()
    assert record.tags["feature"] == "f"


def test_never_both_handlers_for_one_call(ledger: MemoryLedger) -> None:
    """With the instrumentation handler attached, the callback handler leaves it the calls it
    records (inside track(); everything after instrument()) and records the others."""
    own = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=own)
    llm = _llm(handler)
    with tli.track(ledger=ledger):
        llm.complete("inside")
        llm.chat(MESSAGES)
    llm.complete("outside: track()'s handler ignores it, the callback handler records it")
    assert len(ledger) == 2 and len(own) == 1
    tli.instrument(ledger=ledger)
    llm.complete("instrumented: the event handler records it")
    assert len(ledger) == 3 and len(own) == 1


@pytest.mark.filterwarnings("ignore::tokenomy.exceptions.UnknownModelPriceWarning")
def test_embeddings_are_recorded_per_batch(ledger: MemoryLedger) -> None:
    """Embedding events make one record per batch (kind "embedding"), tokens counted locally
    and flagged estimated, sync and async."""
    handler = TokenomyCallbackHandler(ledger=ledger)
    embed = MockEmbedding(
        embed_dim=4, embed_batch_size=2, callback_manager=CallbackManager([handler])
    )
    embed.get_text_embedding_batch(["one two", "three", "four five six"])
    asyncio.run(embed.aget_text_embedding_batch(["seven", "eight nine"]))
    embed.get_query_embedding("ten")
    records = ledger.query()
    assert [r.kind for r in records] == ["embedding"] * 4
    assert [r.usage.input for r in records] == [
        count_text("one two", "text-embedding-3-small")
        + count_text("three", "text-embedding-3-small"),
        count_text("four five six", "text-embedding-3-small"),
        count_text("seven", "text-embedding-3-small")
        + count_text("eight nine", "text-embedding-3-small"),
        count_text("ten", "text-embedding-3-small"),
    ]
    assert all(r.estimated for r in records)
    assert not handler.recorder._embeds and not handler._spans


class _Failing(UsageLLM):
    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        raise TimeoutError("provider timed out")


def test_a_failed_call_is_recorded_once_with_its_error(ledger: MemoryLedger) -> None:
    """A call that raised is recorded with zero tokens and error = the exception's class name;
    the handler itself never raises into the call."""
    handler = TokenomyCallbackHandler(ledger=ledger)
    llm = _Failing(callback_manager=CallbackManager([handler]))
    with pytest.raises(TimeoutError):
        llm.chat(MESSAGES)
    (record,) = ledger.query()
    assert record.error == "TimeoutError" and record.usage == Usage()


def test_handler_errors_are_logged_not_raised(
    ledger: MemoryLedger, caplog: pytest.LogCaptureFixture
) -> None:
    """A recording failure (here: a ledger that rejects records) is logged on the
    tokenomy_llamaindex logger; the LLM call still returns its answer."""

    class Broken(MemoryLedger):
        def add(self, record: Any) -> None:
            raise RuntimeError("disk full")

    handler = TokenomyCallbackHandler(ledger=Broken())
    response = _llm(handler).complete("a")
    assert response.text
    assert any("could not record" in r.getMessage() for r in caplog.records)
