"""CascadeLLM end to end with the real LlamaIndex OpenAI / Anthropic LLMs on the simulator: a
gate rejects the cheap model's answer, the strong model answers, both attempts in the ledger
under one run; a provider error on the cheap tier falls through; a query engine uses it."""

from __future__ import annotations

import asyncio

from li_wrapper_helpers import anthropic_llm, openai_llm
from llama_index.core import Document, SummaryIndex
from llama_index.core.llms import ChatMessage

from tokenomy import MemoryLedger
from tokenomy.routing import ArithmeticCheck, FinalNumber, NotTruncated, routing_summary
from tokenomy.testing import Fault, ProviderSimulator
from tokenomy_llamaindex import CascadeLLM

QUESTION = [ChatMessage(role="user", content="3 sprints of 60 m, 3 times a week: meters a week?")]
WRONG = "3 x 60 = 160 per session, so 480.\n#### 480"
RIGHT = "3 x 60 = 180 per session; 180 x 3 = 540.\n#### 540"
GATE = FinalNumber() & ArithmeticCheck()


def cascade(sim: ProviderSimulator, ledger: MemoryLedger) -> CascadeLLM:
    return CascadeLLM(
        [openai_llm(sim), openai_llm(sim).model_copy(update={"model": "gpt-4o"})],
        GATE,
        ledger=ledger,
    )


def assert_two_attempts(ledger: MemoryLedger, cheap: str, strong: str) -> None:
    first, second = sorted(ledger.query(), key=lambda r: r.attempt)
    assert first.run_id == second.run_id
    assert (first.attempt, second.attempt) == (1, 2)
    assert first.model.startswith(cheap) and second.model.startswith(strong)
    assert first.tags["route_verdict"] == "fail"
    assert second.tags["route_accepted"] == "true"
    assert first.total_cost is not None and second.total_cost is not None
    assert not first.estimated and not second.estimated


def test_chat_escalates_and_records_both_attempts(provider_simulator: ProviderSimulator) -> None:
    """chat(): gpt-4o-mini's wrong arithmetic is rejected; gpt-4o answers; both billed calls
    recorded with the simulator's usage under one run."""
    provider_simulator.set_answer(WRONG, model="gpt-4o-mini")
    provider_simulator.set_answer(RIGHT, model="gpt-4o")
    ledger = MemoryLedger()
    llm = cascade(provider_simulator, ledger)
    assert llm.chat(QUESTION).message.content == RIGHT
    assert [r.body["model"] for r in provider_simulator.requests] == ["gpt-4o-mini", "gpt-4o"]
    assert_two_attempts(ledger, "gpt-4o-mini", "gpt-4o")
    billed = sorted(provider_simulator.calls, key=lambda c: c.model)
    recorded = sorted(ledger.query(), key=lambda r: r.model)
    assert [r.usage.output for r in recorded] == [c.usage.output for c in billed]


def test_astream_chat_and_anthropic(provider_simulator: ProviderSimulator) -> None:
    """Anthropic tiers, achat and stream_chat: the strong model's answer reaches the caller
    (streamed), the cheap attempt is recorded as rejected."""
    provider_simulator.set_answer(WRONG, model="claude-haiku-4-5")
    provider_simulator.set_answer(RIGHT, model="claude-sonnet-4-5")
    ledger = MemoryLedger()
    llm = CascadeLLM(
        [anthropic_llm(provider_simulator).model_copy(update={"model": "claude-haiku-4-5"}),
         anthropic_llm(provider_simulator)],
        GATE,
        ledger=ledger,
    )
    assert asyncio.run(llm.achat(QUESTION)).message.content == RIGHT
    assert_two_attempts(ledger, "claude-haiku-4-5", "claude-sonnet-4-5")
    streamed = MemoryLedger()
    llm = CascadeLLM(
        [anthropic_llm(provider_simulator).model_copy(update={"model": "claude-haiku-4-5"}),
         anthropic_llm(provider_simulator)],
        GATE,
        ledger=streamed,
    )
    pieces = list(llm.stream_chat(QUESTION))
    assert pieces[-1].message.content == RIGHT
    assert_two_attempts(streamed, "claude-haiku-4-5", "claude-sonnet-4-5")


def test_provider_error_and_length_fall_through(provider_simulator: ProviderSimulator) -> None:
    """A 500 on the cheap tier (max_retries=0) is recorded as an error and gpt-4o answers; a
    cheap answer cut by the token limit fails NotTruncated and escalates."""
    provider_simulator.set_answer(RIGHT)
    provider_simulator.inject(Fault.error(500), model="gpt-4o-mini")
    ledger = MemoryLedger()
    llm = cascade(provider_simulator, ledger)
    assert llm.chat(QUESTION).message.content == RIGHT
    first, second = sorted(ledger.query(), key=lambda r: r.attempt)
    assert first.error is not None and first.model == "gpt-4o-mini"
    assert second.tags["route_accepted"] == "true"
    provider_simulator.clear()
    provider_simulator.inject(Fault.length(), model="gpt-4o-mini")
    cut = MemoryLedger()
    llm = CascadeLLM(
        [openai_llm(provider_simulator), openai_llm(provider_simulator).model_copy(update={"model": "gpt-4o"})],
        NotTruncated(),
        ledger=cut,
    )
    assert llm.chat(QUESTION).message.content == RIGHT
    first, second = sorted(cut.query(), key=lambda r: r.attempt)
    assert first.truncated and first.tags["route_verdict"] == "fail"
    assert routing_summary(cut.query()).escalated == 1


def test_query_engine_over_a_cascade(provider_simulator: ProviderSimulator) -> None:
    """A SummaryIndex query engine with llm=CascadeLLM answers with the strong model's text
    after the gate rejects the cheap one."""
    provider_simulator.set_answer(WRONG, model="gpt-4o-mini")
    provider_simulator.set_answer(RIGHT, model="gpt-4o")
    ledger = MemoryLedger()
    engine = SummaryIndex.from_documents([Document(text="James runs 3 sprints of 60 m.")]).as_query_engine(
        llm=cascade(provider_simulator, ledger)
    )
    assert str(engine.query("How many meters a week?")) == RIGHT
    assert_two_attempts(ledger, "gpt-4o-mini", "gpt-4o")


def test_stream_chat_replays_a_passing_cheap_answer(provider_simulator: ProviderSimulator) -> None:
    """stream_chat when the cheap answer passes: it is read whole to be judged, then reaches
    the caller as a stream of pieces; one record, gpt-4o is never asked."""
    provider_simulator.set_answer(RIGHT)
    ledger = MemoryLedger()
    pieces = list(cascade(provider_simulator, ledger).stream_chat(QUESTION))
    assert len(pieces) > 1 and pieces[-1].message.content == RIGHT
    assert "".join(p.delta or "" for p in pieces) == RIGHT
    (record,) = ledger.query()
    assert record.model.startswith("gpt-4o-mini") and record.tags["route_accepted"] == "true"
    assert [r.body["model"] for r in provider_simulator.requests] == ["gpt-4o-mini"]
