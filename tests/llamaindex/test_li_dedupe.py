"""One record per provider call, for every call style, on LLMs whose methods delegate to each
other and so emit nested chat + completion events (real LlamaIndex classes and decorators)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from li_fakes import ANSWER, STYLES, ChatOnlyLLM, UsageLLM, call_style, drain, price
from llama_index.core.base.llms.types import ChatMessage, CompletionResponse
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.llms.mock import MockLLM
from llama_index.core.llms.structured_llm import StructuredLLM
from pydantic import BaseModel

import tokenomy_llamaindex as tli
from tokenomy import MemoryLedger, Usage
from tokenomy.exceptions import EstimatedUsageWarning
from tokenomy.tokens import count_text

MESSAGES = [ChatMessage(role="user", content="What is the capital of France?")]


@pytest.mark.parametrize("style", STYLES)
def test_completion_only_llm_records_each_call_once(style: str, ledger: MemoryLedger) -> None:
    """A CustomLLM (completion-only: chat → complete, astream_chat → stream_chat →
    stream_complete) makes one record per call, with the provider's usage and price, named
    after the innermost method (the one that produced the response)."""
    llm = UsageLLM(usage=Usage(input=40, output=7, cache_read=16))
    with tli.track(ledger=ledger) as tracker:
        call_style(llm, style)
    (record,) = ledger.query()
    assert tracker.calls == 1
    assert record.usage == Usage(input=40, output=7, cache_read=16)
    assert not record.estimated
    assert record.model == "gpt-4o-mini"
    assert record.kind == "completion"
    streamed = "stream" in style
    assert record.streamed is streamed
    assert record.name == ("UsageLLM.stream_complete" if streamed else "UsageLLM.complete")
    assert record.total_cost == price("gpt-4o-mini", record.usage)
    assert record.framework == "llamaindex"


@pytest.mark.parametrize("style", STYLES)
def test_chat_only_llm_records_each_call_once(style: str, ledger: MemoryLedger) -> None:
    """A chat-only LLM whose complete/stream_complete delegate to chat (StructuredLLM's pattern)
    makes one record per call: the chat call, with the provider's usage."""
    llm = ChatOnlyLLM(usage=Usage(input=30, output=9, reasoning=4))
    with tli.track(ledger=ledger):
        call_style(llm, style)
    (record,) = ledger.query()
    assert record.usage == Usage(input=30, output=9, reasoning=4)
    assert record.kind == "chat"
    assert record.streamed is ("stream" in style)
    assert record.total_cost == price("gpt-4o-mini", record.usage)


@pytest.mark.filterwarnings("ignore::tokenomy.exceptions.UnknownModelPriceWarning")
@pytest.mark.parametrize("style", STYLES)
def test_mock_llm_calls_are_estimated_once_and_unpriced(style: str, ledger: MemoryLedger) -> None:
    """LlamaIndex's MockLLM reports no usage and no model: each call is one record of model
    "unknown", unpriced (cost None, never $0), its tokens estimated from the prompt and answer."""
    llm = MockLLM(max_tokens=4)
    with pytest.warns(EstimatedUsageWarning), tli.track(ledger=ledger) as tracker:
        call_style(llm, style)
    (record,) = ledger.query()
    assert record.model == "unknown"
    assert record.cost is None and not record.priced
    assert tracker.unpriced == 1
    assert record.estimated and record.usage.estimated
    assert record.usage.input > 0 and record.usage.output > 0


@pytest.mark.filterwarnings("ignore::tokenomy.exceptions.UnknownModelPriceWarning")
def test_mock_llm_estimate_counts_prompt_and_answer(ledger: MemoryLedger) -> None:
    """The estimate of a completion is the tokens of the prompt and of the answer text."""
    llm = MockLLM(max_tokens=3)
    with pytest.warns(EstimatedUsageWarning), tli.track(ledger=ledger):
        llm.complete("count these few words")
    (record,) = ledger.query()
    assert record.usage == Usage(
        input=count_text("count these few words"),
        output=count_text("text text text"),
        estimated=True,
    )


class City(BaseModel):
    """The structured output of the StructuredLLM test."""

    name: str


def test_structured_llm_complete_over_chat_counts_the_inner_call_once(ledger: MemoryLedger) -> None:
    """StructuredLLM.complete → StructuredLLM.chat → the wrapped LLM's chat: three nested LLM
    calls, one provider call, one record (the wrapped LLM's, with its usage)."""
    inner = ChatOnlyLLM(answer='{"name": "Paris"}', usage=Usage(input=50, output=6))
    structured = StructuredLLM(llm=inner, output_cls=City)
    with tli.track(ledger=ledger):
        response = structured.complete("Which city is the capital of France?")
    assert '"Paris"' in response.text
    (record,) = ledger.query()
    assert record.name == "ChatOnlyLLM.chat"
    assert record.usage == Usage(input=50, output=6)


def test_sequential_calls_returning_the_same_response_object_are_all_counted(
    ledger: MemoryLedger,
) -> None:
    """An LLM that hands back one shared response object is not mistaken for a wrapper of
    itself: three sequential calls make three records."""
    shared = CompletionResponse(
        text=ANSWER,
        raw={"model": "gpt-4o-mini", "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
    )

    class SharedLLM(UsageLLM):
        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
            return shared

    llm = SharedLLM()
    with tli.track(ledger=ledger):
        for _ in range(3):
            llm.complete("x")
    assert [r.usage for r in ledger.query()] == [Usage(input=3, output=2)] * 3


def test_concurrent_async_calls_are_each_recorded(ledger: MemoryLedger) -> None:
    """Concurrent achat/astream_chat calls in one event loop (interleaved events) make one
    record each."""
    llm = UsageLLM()

    async def main() -> None:
        async def streamed() -> None:
            await drain(await llm.astream_chat(MESSAGES))

        await asyncio.gather(
            *(llm.achat(MESSAGES) for _ in range(5)), *(streamed() for _ in range(5))
        )

    with tli.track(ledger=ledger) as tracker:
        asyncio.run(main())
    assert tracker.calls == 10
    assert sum(r.streamed for r in ledger.query()) == 5
