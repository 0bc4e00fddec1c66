"""Each quality gate on real answers, their and / or / scored composition, and the model
gates (judge, agreement) whose calls go through a pipeline of their own and are recorded."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from tokenomy import MemoryLedger, ModelRequest, ModelResponse
from tokenomy.exceptions import ConfigurationError
from tokenomy.routing import (
    Agreement,
    ArithmeticCheck,
    FinalNumber,
    Judge,
    Logprobs,
    Markers,
    Matches,
    NotTruncated,
    PromptChars,
    Scored,
    SelfConfidence,
    StructuredOutput,
    UsesPromptNumbers,
    Verifier,
    final_number,
    gate_from_config,
)
from tokenomy.testing import MockSender

REQ = ModelRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "3 sprints of 60 m?"}])


def answer(text: str = "", **fields: Any) -> ModelResponse:
    return ModelResponse(message={"role": "assistant", "content": text}, **fields)


class City(BaseModel):
    name: str
    population: int


def test_structured_output_with_pydantic_and_json_schema() -> None:
    """Valid JSON for the model / schema passes; missing fields, wrong types, non-JSON fail;
    a tool call's arguments are checked when there is one."""
    gate = StructuredOutput(City)
    assert gate.check(REQ, answer('{"name": "Paris", "population": 2100000}')).passed
    assert not gate.check(REQ, answer('{"name": "Paris"}')).passed
    assert not gate.check(REQ, answer("Paris has 2.1M people")).passed
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    js = StructuredOutput(schema)
    assert js.check(REQ, answer('```json\n{"name": "Paris"}\n```')).passed
    assert not js.check(REQ, answer('{"name": 3}')).passed
    tool = answer("", ).__class__(
        message={"role": "assistant", "content": "", "tool_calls": [
            {"id": "1", "type": "function", "function": {"name": "f", "arguments": '{"name": "x"}'}}
        ]}
    )
    assert js.check(REQ, tool).passed
    with pytest.raises(ConfigurationError):
        StructuredOutput("City")  # type: ignore[arg-type]


def test_math_gates_read_gsm8k_answers() -> None:
    """FinalNumber reads '#### 1,080' (and whole numbers only when asked), ArithmeticCheck
    catches a wrong step, UsesPromptNumbers counts given numbers left out, PromptChars
    rejects long questions."""
    assert final_number("so 3 x 60 = 180\n#### 1,080") == 1080.0
    assert final_number("The answer is $4.50.") == 4.5
    assert FinalNumber().check(REQ, answer("#### 18")).passed
    assert not FinalNumber().check(REQ, answer("it is 18")).passed
    assert FinalNumber(marked=False).check(REQ, answer("it is 18")).passed
    assert not FinalNumber(whole=True).check(REQ, answer("#### 2.5")).passed
    right = ArithmeticCheck().check(REQ, answer("3 x 60 = <<3*60=180>>180 meters, 180 * 3 = 540"))
    assert right.passed and right.score == 1.0
    wrong = ArithmeticCheck().check(REQ, answer("<<3*60=180>> and 16 - 3 = 12"))
    assert not wrong.passed and wrong.score == 0.5
    assert UsesPromptNumbers().check(REQ, answer("3 * 60 = 180")).passed
    assert not UsesPromptNumbers().check(REQ, answer("#### 180")).passed
    assert PromptChars(100).check(REQ, answer("x")).passed
    assert not PromptChars(5).check(REQ, answer("x")).passed


def test_markers_confidence_logprobs_truncation_and_verifier() -> None:
    """Refusals and empty answers fail Markers; SelfConfidence reads 'Confidence: 85';
    Logprobs reads OpenAI's choices[0].logprobs (and passes when absent); NotTruncated fails
    finish_reason length; Verifier takes a bool or a score."""
    assert not Markers().check(REQ, answer("I'm not able to help with that.")).passed
    assert not Markers().check(REQ, answer("   ")).passed
    assert Markers().check(REQ, answer("Paris.")).passed
    conf = SelfConfidence(0.8)
    assert conf.check(REQ, answer("Paris.\nConfidence: 85")).score == pytest.approx(0.85)
    assert not conf.check(REQ, answer("Paris.\nConfidence: 40%")).passed
    assert not conf.check(REQ, answer("Paris.")).passed
    assert "Confidence" in conf.prepare(REQ).messages[0]["content"]
    raw = {"choices": [{"logprobs": {"content": [{"logprob": -0.01}, {"logprob": -0.02}]}}]}
    assert Logprobs(0.9).check(REQ, answer("Paris", raw=raw)).passed
    low = {"choices": [{"logprobs": {"content": [{"logprob": -2.0}]}}]}
    assert not Logprobs(0.9).check(REQ, answer("Paris", raw=low)).passed
    assert Logprobs(0.9).check(REQ, answer("Paris")).reason == "no logprobs"
    metadata = {"response_metadata": {"logprobs": {"content": [{"logprob": -3.0}]}}}
    assert not Logprobs(0.9).check(REQ, answer("Paris", native=metadata)).passed
    assert not NotTruncated().check(REQ, answer("Par", finish_reason="length")).passed
    assert Verifier(lambda req, resp: "Paris" in resp.text).check(REQ, answer("Paris")).passed
    assert not Verifier(lambda req, resp: 0.2).check(REQ, answer("x")).passed


def test_composition_and_or_scored_and_config() -> None:
    """& needs every gate, | any one; Scored weighs scores against its threshold; the JSON
    config builds the same gates."""
    good, bad = answer("3 x 60 = 180\n#### 180"), answer("3 x 60 = 170")
    both = FinalNumber() & ArithmeticCheck()
    assert both.check(REQ, good).passed and not both.check(REQ, bad).passed
    either = FinalNumber() | Matches(r"\b170\b")
    assert either.check(REQ, bad).passed
    scored = Scored([(FinalNumber(), 1.0), (ArithmeticCheck(), 3.0)], threshold=0.7)
    assert scored.check(REQ, good).score == 1.0
    assert not scored.check(REQ, bad).passed
    built = gate_from_config({"all": [{"gate": "final_number"}, {"gate": "arithmetic"}]})
    assert built.check(REQ, good).passed and not built.check(REQ, bad).passed
    with pytest.raises(ConfigurationError, match="unknown gate"):
        gate_from_config({"gate": "nope"})


def test_judge_and_agreement_call_a_model_and_record_it() -> None:
    """Judge asks its model for a 0-10 score; Agreement asks a second model the same request
    and compares final numbers; each call is a ledger record tagged with its purpose."""
    ledger = MemoryLedger()
    judge = Judge(MockSender(lambda r: "9"), "gpt-4o-mini", ledger=ledger)
    assert judge.check(REQ, answer("#### 180")).score == pytest.approx(0.9)
    low = Judge(MockSender(lambda r: "3"), "gpt-4o-mini", ledger=ledger)
    assert not low.check(REQ, answer("#### 180")).passed
    agree = Agreement(MockSender(lambda r: "it is 180"), "gpt-4.1-mini", ledger=ledger)
    assert agree.check(REQ, answer("#### 180")).passed
    assert not agree.check(REQ, answer("#### 181")).passed
    purposes = [r.tags["purpose"] for r in ledger.query()]
    assert purposes == ["routing-judge"] * 2 + ["routing-agreement"] * 2


def test_agreement_asks_the_second_model_in_parallel_inside_a_cascade() -> None:
    """In a Cascade, Agreement's second cheap model is asked while the first one answers
    (its call starts at prepare, before the tier's call returns); disagreement escalates; the
    last tier is not judged (no second call for an answer returned anyway); all three calls
    are recorded."""
    import threading

    from tokenomy import Pipeline
    from tokenomy.routing import Cascade

    started = threading.Event()
    ledger = MemoryLedger()

    def first(request: ModelRequest) -> str:
        assert started.wait(5), "the second model was not asked while the first answered"
        return "#### 180"

    def second(request: ModelRequest) -> str:
        started.set()
        return "#### 170"

    agree = Agreement(MockSender(second), "gpt-4.1-mini", ledger=ledger)
    pipeline = Pipeline([Cascade(["gpt-4o-mini", "gpt-4o"], agree)], ledger=ledger)
    response = pipeline.call(ModelRequest(model=None, messages=REQ.messages), MockSender(first))
    assert response.model == "gpt-4o"
    assert sorted(r.model for r in ledger.query()) == ["gpt-4.1-mini", "gpt-4o", "gpt-4o-mini"]
    assert not agree._pending
    last = next(r for r in ledger.query() if r.model == "gpt-4o")
    assert last.tags["route_reason"] == "not judged"
