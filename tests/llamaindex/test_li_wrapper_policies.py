"""Policies through TokenomyLLM on the real OpenAI LlamaIndex LLM and the simulator: MaxTokens
in the request bodies, streams passing through chunk by chunk, refusals before sending, the
wrapper's public names."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from li_wrapper_helpers import assert_ledger_is_simulator, openai_llm, wrap
from llama_index.core.base.llms.types import ChatMessage

import tokenomy
import tokenomy_llamaindex as tli
from tokenomy import MaxTokens, MemoryLedger, ModelRequest, Policy, PriceBook
from tokenomy.exceptions import TokenomyError, UnknownModelPriceError
from tokenomy.testing import Fault, ProviderSimulator, RecordingPolicy
from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401

MESSAGES = [ChatMessage(role="user", content="Tell me about Paris in some detail.")]


@pytest.fixture
def sim(provider_simulator: ProviderSimulator) -> ProviderSimulator:  # noqa: F811
    """The running simulator of this test."""
    return provider_simulator


def test_public_names_are_pinned() -> None:
    """tokenomy_llamaindex's public namespace, sorted, TokenomyLLM, CascadeLLM and the memories
    included, and the batch front ends."""
    assert tli.__all__ == [
        "CascadeLLM",
        "LLMSummarizer",
        "LlamaIndexEmbedder",
        "TokenomyCallbackHandler",
        "TokenomyEventHandler",
        "TokenomyLLM",
        "TokenomyMemoryBuffer",
        "TokenomyNodePostprocessor",
        "TokenomySpanHandler",
        "TokenomySummaryMemoryBuffer",
        "__version__",
        "batch_chat",
        "include_stream_usage",
        "instrument",
        "submit_batch",
        "track",
        "uninstrument",
    ]
    assert tli.__all__ == sorted(tli.__all__)


def test_max_tokens_reaches_the_request_body(sim: ProviderSimulator, ledger: MemoryLedger) -> None:
    """MaxTokens sets max_tokens on every call style that had none (per task from a track()
    tag too); a caller's own limit is kept, and with cap=True lowered even when it is the
    OpenAI LLM's own field (which llama-index-llms-openai lets win over call keywords)."""
    llm = wrap(openai_llm(sim), ledger, [MaxTokens(default=40, per_task={"classify": 3})])
    llm.chat(MESSAGES)
    list(llm.stream_complete("Paris?"))
    asyncio.run(llm.acomplete("Paris?"))
    with tokenomy.track(task="classify"):
        llm.chat(MESSAGES)
    llm.chat(MESSAGES, max_tokens=90)
    capped = wrap(openai_llm(sim, max_tokens=500), ledger, [MaxTokens(default=25, cap=True)])
    capped.chat(MESSAGES)
    assert [r.body["max_tokens"] for r in sim.requests] == [40, 40, 40, 3, 90, 25]
    assert getattr(capped.llm, "max_tokens") == 500  # the wrapped LLM is left alone
    assert_ledger_is_simulator(ledger.query(), sim)


def test_a_cut_answer_is_recorded_truncated(sim: ProviderSimulator, ledger: MemoryLedger) -> None:
    """The simulator stops two answers at the limit (finish_reason "length"), one of them
    streamed: both responses and records say truncated, the untouched call does not
    (``CostRecord.truncated`` arrives with the record branch)."""
    recorder = RecordingPolicy()
    llm = wrap(openai_llm(sim), ledger, [recorder, MaxTokens(default=8)])
    sim.inject(Fault.length(2), times=2)
    llm.chat(MESSAGES)
    list(llm.stream_chat(MESSAGES))
    llm.chat(MESSAGES)
    assert [c.finish_reasons for c in sim.calls][:2] == [("length",), ("length",)]
    assert [r.truncated for r in recorder.responses] == [True, True, False]
    assert [r.truncated for r in ledger.query()] == [True, True, False]  # type: ignore[attr-defined]


def test_stream_pieces_reach_the_caller_one_by_one(
    sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """A RecordingPolicy sees the streamed response open before the caller reads anything and
    complete only after the caller read the last piece: every piece reached the caller while
    the stream was still open (nothing buffered), in the wrapped LLM's own ChatResponses."""
    recorder = RecordingPolicy()
    llm = wrap(openai_llm(sim), ledger, [recorder])
    events: list[tuple[str, str]] = []
    for piece in llm.stream_chat(MESSAGES):
        done = any(e == "complete" for _, e, _ in recorder.log)
        events.append((piece.delta or "", "after" if done else "open"))
    assert [e for _, e, _ in recorder.log] == ["request", "response", "complete"]
    texts = [d for d, _ in events if d]
    assert len(texts) > 3 and "".join(texts) == sim.calls[0].outputs[0]
    assert {state for _, state in events} == {"open"}
    assert_ledger_is_simulator(ledger.query(), sim)


async def test_async_stream_pieces_reach_the_caller_one_by_one(
    sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """The same for astream_complete: the policy's async path, pieces while open."""
    recorder = RecordingPolicy()
    llm = wrap(openai_llm(sim), ledger, [recorder])
    states = []
    async for piece in await llm.astream_complete("Tell me about Paris."):
        states.append(any(e == "complete" for _, e, _ in recorder.log))
    assert len(states) > 3 and not any(states)
    assert [e for _, e, _ in recorder.log] == ["request", "response", "complete"]
    assert recorder.requests[0].kind == "completion" and recorder.requests[0].stream
    assert_ledger_is_simulator(ledger.query(), sim)


class OverBudgetError(TokenomyError):
    """A refusal, typed and carrying its numbers."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"over budget: limit {limit}")
        self.limit = limit


class Refuse(Policy):
    """Refuses every call before anything is sent."""

    def before(self, request: ModelRequest) -> ModelRequest:
        raise OverBudgetError(5)


@pytest.mark.parametrize("style", ["chat", "stream_chat", "achat", "astream_complete"])
def test_a_refusal_reaches_the_caller_and_nothing_is_sent(
    style: str, sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """A policy's typed error raised before sending comes out of the wrapper's method as it
    was raised; the simulator received no request and nothing is recorded."""
    llm = wrap(openai_llm(sim), ledger, [Refuse()])
    calls: dict[str, Callable[[], object]] = {
        "chat": lambda: llm.chat(MESSAGES),
        "stream_chat": lambda: llm.stream_chat(MESSAGES),
        "achat": lambda: asyncio.run(llm.achat(MESSAGES)),
        "astream_complete": lambda: asyncio.run(llm.astream_complete("Paris?")),
    }
    with pytest.raises(OverBudgetError) as caught:
        calls[style]()
    assert caught.value.limit == 5
    assert sim.requests == [] and ledger.count() == 0


def test_strict_prices_refuse_an_unknown_model_before_sending(
    sim: ProviderSimulator, ledger: MemoryLedger
) -> None:
    """A strict price book and a model it cannot price: the wrapper raises before the call
    is sent (it would be billed and unpriced)."""
    inner = openai_llm(sim)
    inner.model = "gpt-unknown-model"
    llm = tli.TokenomyLLM(inner, ledger=ledger, price_book=PriceBook(strict=True))
    with pytest.raises(UnknownModelPriceError):
        llm.chat(MESSAGES)
    assert sim.requests == []
