"""The cascade policy on the core pipeline (MockSender as the provider): escalation, the last
tier always returned, errors falling through, verdict tags on each attempt's record, streams,
context of the failed answer, pre-routing, and the annotate hook of the pipeline."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tokenomy import MemoryLedger, ModelRequest, ModelResponse, Pipeline
from tokenomy.exceptions import ConfigurationError
from tokenomy.routing import (
    ArithmeticCheck,
    Cascade,
    FinalNumber,
    Gate,
    Markers,
    RulePreRouter,
    Tier,
    Uncertain,
    Verdict,
    routing_summary,
)
from tokenomy.testing import MockSender

CHEAP, STRONG = "gpt-4o-mini", "gpt-4o"
QUESTION = [{"role": "user", "content": "James runs 3 sprints of 60 meters. How far? End with #### N"}]


def answers(by_model: dict[str, Any]) -> MockSender:
    def handler(request: ModelRequest) -> Any:
        value = by_model[request.model or ""]
        return value(request) if callable(value) else value

    return MockSender(handler)


def run(policy: Cascade, send: MockSender, *, stream: bool = False) -> tuple[ModelResponse, MemoryLedger]:
    ledger = MemoryLedger()
    response = Pipeline([policy], ledger=ledger).call(
        ModelRequest(model=None, messages=QUESTION, stream=stream), send
    )
    return response.consume(), ledger


def test_cheap_answer_that_passes_is_returned_alone() -> None:
    """A cheap answer that passes the gate is returned; the strong model is never asked; one
    record, tagged pass and accepted."""
    send = answers({CHEAP: "3 x 60 = 180\n#### 180", STRONG: "#### 180"})
    response, ledger = run(Cascade([CHEAP, STRONG], FinalNumber() & ArithmeticCheck()), send)
    assert response.text.endswith("#### 180")
    assert [r.model for r in send.requests] == [CHEAP]
    (record,) = ledger.query()
    assert record.tags["route_verdict"] == "pass"
    assert record.tags["route_accepted"] == "true"
    assert record.tags["route_tier"] == "0"


def test_rejected_cheap_answer_escalates_and_both_attempts_are_recorded_under_one_run() -> None:
    """A wrong calculation fails the gate: the strong model answers; two records under one run,
    attempts 1 and 2, the first tagged fail with the gate's reason and score."""
    send = answers({CHEAP: "3 x 60 = 170\n#### 170", STRONG: "3 x 60 = 180\n#### 180"})
    response, ledger = run(Cascade([CHEAP, STRONG], FinalNumber() & ArithmeticCheck()), send)
    assert response.text.endswith("#### 180")
    first, second = ledger.query()
    assert first.run_id == second.run_id
    assert (first.attempt, second.attempt) == (1, 2)
    assert (first.model, second.model) == (CHEAP, STRONG)
    assert first.tags["route_verdict"] == "fail"
    assert first.tags["route_accepted"] == "false"
    assert "calculations wrong" in first.tags["route_reason"]
    assert float(first.tags["route_score"]) == 0.0
    assert second.tags["route_accepted"] == "true"
    summary = routing_summary(ledger.query())
    assert (summary.calls, summary.attempts, summary.escalated) == (1, 2, 1)
    assert summary.cost == first.cost.total + second.cost.total  # type: ignore[union-attr]


def test_last_tier_is_returned_even_when_it_fails_the_gate() -> None:
    """The strongest model's answer is returned whatever the gate says; its verdict is still
    recorded (fail), and it counts as accepted."""
    send = answers({CHEAP: "no idea", STRONG: "also no number"})
    response, ledger = run(Cascade([CHEAP, STRONG], FinalNumber()), send)
    assert response.text == "also no number"
    last = ledger.query()[-1]
    assert (last.tags["route_verdict"], last.tags["route_accepted"]) == ("fail", "true")


def test_error_on_a_tier_falls_through_to_the_next() -> None:
    """A provider error on the cheap tier is recorded (error set) and the strong tier answers;
    an error on the last tier reaches the caller."""
    send = answers({CHEAP: TimeoutError("provider timed out"), STRONG: "#### 180"})
    response, ledger = run(Cascade([CHEAP, STRONG], FinalNumber()), send)
    assert response.text == "#### 180"
    first, second = ledger.query()
    assert first.error == "TimeoutError" and first.tags["route_tier"] == "0"
    assert second.error is None
    failing = answers({CHEAP: "no", STRONG: TimeoutError("down")})
    with pytest.raises(TimeoutError):
        run(Cascade([CHEAP, STRONG], FinalNumber()), failing)


def test_three_tiers_stop_at_the_first_that_passes() -> None:
    """With three tiers the middle one answers when it passes; the strongest is never asked."""
    send = answers({CHEAP: "hmm", "gpt-4.1-mini": "#### 7", STRONG: "#### 7"})
    response, _ = run(Cascade([CHEAP, "gpt-4.1-mini", STRONG], FinalNumber()), send)
    assert response.text == "#### 7"
    assert [r.model for r in send.requests] == [CHEAP, "gpt-4.1-mini"]


def test_context_answer_passes_the_failed_answer_and_reason_to_the_next_tier() -> None:
    """context="answer": the strong model sees the rejected answer and the gate's reason;
    context="none" (default) sends it the original request."""
    send = answers({CHEAP: "I'm not sure.", STRONG: "#### 180"})
    run(Cascade([CHEAP, STRONG], Markers(), context="answer"), send)
    sent = send.requests[1].messages
    assert sent[-2] == {"role": "assistant", "content": "I'm not sure."}
    assert "marker" in sent[-1]["content"]
    plain = answers({CHEAP: "I'm not sure.", STRONG: "#### 180"})
    run(Cascade([CHEAP, STRONG], Markers()), plain)
    assert list(plain.requests[1].messages) == QUESTION


def test_uncertain_gate_adds_its_instruction_and_escalates_on_uncertain() -> None:
    """Uncertain() puts its instruction in a system message of the tier's request and fails
    an answer of UNCERTAIN."""
    send = answers({CHEAP: "UNCERTAIN", STRONG: "#### 180"})
    response, ledger = run(Cascade([CHEAP, STRONG], Uncertain()), send)
    assert response.text == "#### 180"
    assert "UNCERTAIN" in send.requests[0].messages[0]["content"]
    assert ledger.query()[0].tags["route_reason"] == "answered UNCERTAIN"


def test_stream_is_judged_whole_then_replayed_or_the_last_tier_streams() -> None:
    """A streamed call: the cheap tier is asked without streaming and, when it passes, its
    answer is replayed as a stream; when it fails, the strong tier streams."""
    send = answers({CHEAP: "#### 180", STRONG: "3 x 60 = 180 #### 180"})
    ledger = MemoryLedger()
    response = Pipeline([Cascade([CHEAP, STRONG], FinalNumber())], ledger=ledger).call(
        ModelRequest(model=None, messages=QUESTION, stream=True), send
    )
    chunks = [c.text for c in response]
    assert "".join(chunks) == "#### 180" and response.is_stream
    assert send.requests[0].stream is False
    send2 = answers({CHEAP: "nothing", STRONG: "3 x 60 = 180 #### 180"})
    response2, ledger2 = run(Cascade([CHEAP, STRONG], FinalNumber()), send2, stream=True)
    assert response2.text == "3 x 60 = 180 #### 180"
    assert [r.stream for r in send2.requests] == [False, True]
    assert ledger2.query()[1].tags["route_verdict"] == "pass"


def test_async_path_escalates_the_same_way() -> None:
    """Pipeline.acall: the same escalation and records as the sync path."""
    send = answers({CHEAP: "#### x", STRONG: "#### 180"})
    ledger = MemoryLedger()

    async def go() -> ModelResponse:
        return await Pipeline([Cascade([CHEAP, STRONG], FinalNumber())], ledger=ledger).acall(
            ModelRequest(model=None, messages=QUESTION), send.asend
        )

    assert asyncio.run(go()).text == "#### 180"
    assert [r.tags["route_verdict"] for r in ledger.query()] == ["fail", "pass"]


def test_pre_router_starts_long_prompts_at_the_strong_tier() -> None:
    """A RulePreRouter sends a prompt over its length straight to the strong tier."""
    send = answers({CHEAP: "#### 1", STRONG: "#### 2"})
    policy = Cascade([CHEAP, STRONG], FinalNumber(), pre_router=RulePreRouter(max_chars=10))
    response, ledger = run(policy, send)
    assert response.text == "#### 2"
    assert [r.model for r in send.requests] == [STRONG]
    assert ledger.query()[0].tags["route_start"] == "1"


class Broken(Gate):
    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        raise RuntimeError("bug in the gate")


def test_a_broken_gate_escalates_and_loses_no_record() -> None:
    """A gate that raises counts as a failed verdict (reason names the error): the call
    escalates and every attempt is recorded."""
    send = answers({CHEAP: "#### 1", STRONG: "#### 2"})
    response, ledger = run(Cascade([CHEAP, Tier(STRONG)], Broken()), send)
    assert response.text == "#### 2"
    assert ledger.query()[0].tags["route_reason"] == "gate error RuntimeError"
    assert len(ledger.query()) == 2


def test_annotator_error_still_records_the_attempt() -> None:
    """The pipeline's annotate hook: tags it returns land on the record; one that raises is
    recorded with annotate_error instead of losing the record."""
    ledger = MemoryLedger()
    pipeline = Pipeline(ledger=ledger)
    pipeline.call(
        ModelRequest(model=CHEAP, messages=QUESTION, annotate=lambda r: {"seen": len(r.text)}),
        MockSender(lambda r: "four"),
    )

    def boom(response: ModelResponse) -> dict[str, str]:
        raise KeyError("x")

    pipeline.call(ModelRequest(model=CHEAP, messages=QUESTION, annotate=boom), MockSender())
    first, second = ledger.query()
    assert first.tags["seen"] == "4"
    assert second.tags["annotate_error"] == "KeyError"


def test_cascade_rejects_bad_configuration() -> None:
    """No tiers, a gate that is not a Gate, or an unknown context: ConfigurationError."""
    with pytest.raises(ConfigurationError):
        Cascade([])
    with pytest.raises(ConfigurationError):
        Cascade([CHEAP], gate="final_number")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        Cascade([CHEAP], context="all")  # type: ignore[arg-type]
