"""CascadeChatModel and a Cascade in TokenomyMiddleware, end to end with the real ChatOpenAI /
ChatAnthropic clients on the simulator: a gate rejects the cheap model's answer, the strong
model answers, and both attempts are in the ledger under one run with their verdicts."""

from __future__ import annotations

import asyncio

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessageChunk
from lc_sim import anthropic, assert_ledger_matches, openai_chat

import tokenomy_langchain
from tokenomy import ConfigurationError, MemoryLedger
from tokenomy.routing import ArithmeticCheck, Cascade, FinalNumber, routing_summary
from tokenomy.testing import ProviderSimulator
from tokenomy_langchain import CascadeChatModel, TokenomyMiddleware

QUESTION = "James runs 3 sprints of 60 meters, 3 times a week. How many meters a week?"
WRONG = "3 x 60 = 160 meters per session, so 480.\n#### 480"
RIGHT = "3 x 60 = 180 meters per session; 180 x 3 = 540.\n#### 540"
GATE = FinalNumber() & ArithmeticCheck()


def script(sim: ProviderSimulator, cheap: str, strong: str) -> None:
    sim.set_answer(WRONG, model=cheap)
    sim.set_answer(RIGHT, model=strong)


def assert_escalated(ledger: MemoryLedger, sim: ProviderSimulator, cheap: str, strong: str) -> None:
    records = sorted(assert_ledger_matches(ledger, sim, calls=2), key=lambda r: r.attempt)
    first, second = records
    assert first.run_id == second.run_id
    assert (first.attempt, first.model, second.attempt) == (1, cheap, 2)
    assert second.model.startswith(strong)
    assert first.tags["route_verdict"] == "fail" and first.tags["route_accepted"] == "false"
    assert "calculations wrong" in first.tags["route_reason"]
    assert second.tags["route_verdict"] == "pass" and second.tags["route_accepted"] == "true"
    assert [r.body["model"] for r in sim.requests] == [cheap, strong]


def test_invoke_escalates_from_gpt_4o_mini_to_gpt_4o(provider_simulator: ProviderSimulator) -> None:
    """invoke: the cheap answer's arithmetic is wrong, so gpt-4o answers; the caller gets
    gpt-4o's answer and the ledger holds both billed calls under the wrapper's run."""
    script(provider_simulator, "gpt-4o-mini", "gpt-4o")
    ledger = MemoryLedger()
    model = CascadeChatModel(
        [openai_chat(provider_simulator, "gpt-4o-mini"), openai_chat(provider_simulator, "gpt-4o")],
        GATE,
        ledger=ledger,
    )
    assert model.invoke(QUESTION).content == RIGHT
    assert_escalated(ledger, provider_simulator, "gpt-4o-mini", "gpt-4o")
    summary = routing_summary(ledger.query())
    assert (summary.calls, summary.escalated, summary.escalation_rate) == (1, 1, 1.0)


def test_cheap_answer_that_passes_is_the_only_call(provider_simulator: ProviderSimulator) -> None:
    """When the cheap answer passes, only gpt-4o-mini is called and recorded."""
    provider_simulator.set_answer(RIGHT, model="gpt-4o-mini")
    ledger = MemoryLedger()
    model = CascadeChatModel(
        [openai_chat(provider_simulator, "gpt-4o-mini"), openai_chat(provider_simulator, "gpt-4o")],
        GATE,
        ledger=ledger,
    )
    assert model.invoke(QUESTION).content == RIGHT
    (record,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    assert record.tags["route_accepted"] == "true"


def test_anthropic_ainvoke_and_stream(provider_simulator: ProviderSimulator) -> None:
    """ChatAnthropic tiers: ainvoke escalates the same way; stream() streams the strong
    model's answer after the cheap one (read whole) is rejected."""
    script(provider_simulator, "claude-haiku-4-5", "claude-sonnet-4-5")
    ledger = MemoryLedger()
    model = CascadeChatModel(
        [anthropic(provider_simulator), anthropic(provider_simulator, "claude-sonnet-4-5")],
        GATE,
        ledger=ledger,
    )
    assert asyncio.run(model.ainvoke(QUESTION)).content == RIGHT
    assert_escalated(ledger, provider_simulator, "claude-haiku-4-5", "claude-sonnet-4-5")
    provider_simulator.clear()
    streamed = MemoryLedger()
    model = CascadeChatModel(
        [anthropic(provider_simulator), anthropic(provider_simulator, "claude-sonnet-4-5")],
        GATE,
        ledger=streamed,
    )
    chunks = list(model.stream(QUESTION))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(str(c.content) for c in chunks) == RIGHT
    assert_escalated(streamed, provider_simulator, "claude-haiku-4-5", "claude-sonnet-4-5")


def test_cascade_in_an_agent_middleware(provider_simulator: ProviderSimulator) -> None:
    """A create_agent agent on gpt-4o-mini with TokenomyMiddleware([Cascade]) and the tier
    models: the rejected cheap answer is followed by a gpt-4o call, both recorded under one
    run, inside track()."""
    script(provider_simulator, "gpt-4o-mini", "gpt-4o")
    ledger = MemoryLedger()
    cheap, strong = openai_chat(provider_simulator, "gpt-4o-mini"), openai_chat(provider_simulator, "gpt-4o")
    agent = create_agent(
        cheap,
        middleware=[
            TokenomyMiddleware(
                [Cascade(["gpt-4o-mini", "gpt-4o"], GATE)], ledger=ledger, models=[cheap, strong]
            )
        ],
    )
    with tokenomy_langchain.track(ledger=MemoryLedger()):
        state = agent.invoke({"messages": [{"role": "user", "content": QUESTION}]})
    assert state["messages"][-1].content == RIGHT
    assert_escalated(ledger, provider_simulator, "gpt-4o-mini", "gpt-4o")


def test_tiers_need_distinct_model_names(provider_simulator: ProviderSimulator) -> None:
    """Two tiers with the same model name cannot be told apart: ConfigurationError."""
    with pytest.raises(ConfigurationError, match="its own model name"):
        CascadeChatModel(
            [openai_chat(provider_simulator), openai_chat(provider_simulator)], GATE
        )


def test_structured_output_batch_and_logprobs_pass_through(
    provider_simulator: ProviderSimulator,
) -> None:
    """with_structured_output on the cascade: the cheap model's non-JSON answer fails
    StructuredOutput and gpt-4o's parsed object is returned; batch() routes each input; the
    Logprobs gate passes an answer without logprobs (the simulator returns none) and says so."""
    from pydantic import BaseModel

    from tokenomy.routing import Logprobs, StructuredOutput

    class Label(BaseModel):
        category: str
        urgent: bool

    provider_simulator.set_answer("bug, urgent", model="gpt-4o-mini")
    provider_simulator.set_answer('{"category": "bug", "urgent": true}', model="gpt-4o")
    ledger = MemoryLedger()
    model = CascadeChatModel(
        [openai_chat(provider_simulator, "gpt-4o-mini"), openai_chat(provider_simulator, "gpt-4o")],
        StructuredOutput(Label),
        ledger=ledger,
    )
    assert model.with_structured_output(Label).invoke("Triage: app crashes") == Label(
        category="bug", urgent=True
    )
    assert sorted((r.attempt, r.model) for r in ledger.query()) == [
        (1, "gpt-4o-mini"), (2, "gpt-4o")
    ]
    assert [m.content for m in model.batch(["a", "b"])] == ['{"category": "bug", "urgent": true}'] * 2
    assert len(ledger.query()) == 2 + 4
    scored = MemoryLedger()
    model = CascadeChatModel(
        [openai_chat(provider_simulator, "gpt-4o-mini", logprobs=True),
         openai_chat(provider_simulator, "gpt-4o", logprobs=True)],
        Logprobs(0.0),
        ledger=scored,
    )
    model.invoke("Triage: app crashes")
    (first,) = scored.query()
    assert first.model == "gpt-4o-mini"
    assert first.tags["route_reason"] == "no logprobs"


def test_astream_replays_a_passing_cheap_answer(provider_simulator: ProviderSimulator) -> None:
    """astream() when the cheap answer passes: read whole to be judged, then streamed to the
    caller in pieces; one record, gpt-4o never asked."""
    provider_simulator.set_answer(RIGHT)
    ledger = MemoryLedger()
    model = CascadeChatModel(
        [openai_chat(provider_simulator, "gpt-4o-mini"), openai_chat(provider_simulator, "gpt-4o")],
        GATE,
        ledger=ledger,
    )

    async def read() -> list[AIMessageChunk]:
        return [c async for c in model.astream(QUESTION)]

    chunks = asyncio.run(read())
    assert len(chunks) > 1 and "".join(str(c.content) for c in chunks) == RIGHT
    (record,) = assert_ledger_matches(ledger, provider_simulator, calls=1)
    assert record.tags["route_accepted"] == "true"
