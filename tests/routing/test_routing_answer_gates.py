"""The gates that check a worked numeric answer against itself and its question, and the
calibration that weighs them (out-of-fold chances, a smooth expected-quality target)."""

from __future__ import annotations

import pytest

from shared_data import shared_file
from tokenomy import ModelRequest, ModelResponse
from tokenomy.routing import (
    AnswerLine,
    ConsistentAnswer,
    GroundedSteps,
    ShowsWork,
    calculations,
    calibrate,
    evaluate_replay,
    gate_from_config,
    given_numbers,
    load_replay,
    split_rows,
)

QUESTION = (
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast and bakes muffins with "
    "four. She sells the rest for $2 per egg. How much does she make every day?"
)
REQ = ModelRequest(model="m", messages=[{"role": "user", "content": QUESTION}])
TIERS = [
    {"key": "cheap", "model": "mistralai/Mixtral-8x7B-Instruct-v0.1",
     "price_per_million": {"input": "0.60", "output": "0.60"}},
    {"key": "strong", "model": "gpt-4-1106-preview",
     "price_per_million": {"input": "10", "output": "30"}},
]


def answer(text: str) -> ModelResponse:
    return ModelResponse(message={"role": "assistant", "content": text}, finish_reason="stop")


RIGHT = (
    "She has 16 - 3 = 13 eggs left.\nShe uses 4 for baking, so 13 - 4 = <<13-4=9>>9 remain.\n"
    "She sells them for 9 * 2 = $<<9*2=18>>18.\n#### 18\n\n"
)


def test_calculations_and_given_numbers() -> None:
    """calculations reads annotated and written steps in text order with their computed and
    stated values; given_numbers reads digits, number words and percentages."""
    steps = calculations(RIGHT)
    assert [(e, v, c) for e, v, c in steps] == [
        ("16 - 3", 13.0, 13.0), ("13-4", 9.0, 9.0), ("9*2", 18.0, 18.0)
    ]
    assert given_numbers(QUESTION) >= {16.0, 3.0, 4.0, 2.0}
    assert 0.2 in given_numbers("a 20% discount on twice the price")
    assert 2.0 in given_numbers("a 20% discount on twice the price")


def test_consistent_answer_checks_the_final_number_against_the_work() -> None:
    """The final number must be a shown calculation's result: the last (score 1), an
    earlier one (0.5), or it fails (a number from nowhere, or no work shown)."""
    gate = ConsistentAnswer()
    last = gate.check(REQ, answer(RIGHT))
    assert last.passed and last.score == 1.0
    earlier = gate.check(REQ, answer(RIGHT.replace("#### 18", "#### 9")))
    assert earlier.passed and earlier.score == 0.5
    nowhere = gate.check(REQ, answer(RIGHT.replace("#### 18", "#### 20")))
    assert not nowhere.passed and "20 is no calculation" in nowhere.reason
    assert not gate.check(REQ, answer("#### 18")).passed


def test_answer_line_grounded_steps_and_shows_work() -> None:
    """AnswerLine wants one number on the marked line; GroundedSteps flags an operand that
    neither the question, an earlier step nor a common constant gives; ShowsWork counts
    steps against min_steps."""
    assert AnswerLine().check(REQ, answer(RIGHT)).passed
    assert AnswerLine().check(REQ, answer("The answer is $18.")).passed
    assert not AnswerLine().check(REQ, answer("#### 225 minutes or 3 hours")).passed
    assert not AnswerLine().check(REQ, answer("it is 18")).passed
    assert GroundedSteps().check(REQ, answer(RIGHT)).passed
    invented = GroundedSteps().check(REQ, answer(RIGHT.replace("16 - 3 = 13", "17 - 3 = 14")))
    assert not invented.passed and invented.score < 1.0 and "(17)" in invented.reason
    assert ShowsWork(min_steps=3).check(REQ, answer(RIGHT)).passed
    two = ShowsWork(min_steps=4).check(REQ, answer(RIGHT))
    assert not two.passed and two.score == pytest.approx(0.75)
    spec = {"all": [{"gate": "consistent_answer"}, {"gate": "answer_line"},
                    {"gate": "grounded_steps"}, {"gate": "shows_work", "min_steps": 2}]}
    assert gate_from_config(spec).check(REQ, answer(RIGHT)).passed


def test_calibration_threshold_is_chosen_out_of_fold_with_a_margin() -> None:
    """On a calibration half of gsm8k-dev, calibrate returns a Scored gate over the answer
    checks (the consistency gates among the weighed terms), with its out-of-fold estimate;
    a larger margin never escalates less; the held-out half replayed through the cascade
    stays within 5 points of the out-of-fold quality estimate."""
    rows = load_replay(shared_file("routing/gsm8k-dev.jsonl"))
    cal, held = split_rows(rows, fraction=0.5, seed=0)
    config = calibrate(cal, target=0.95, tiers=TIERS)
    block = config["calibration"]
    assert block["reached"]
    names = {spec["gate"] for spec, _ in config["gate"]["scored"]}
    assert names & {"consistent_answer", "answer_line", "grounded_steps", "shows_work"}
    assert 0.0 < block["escalation_rate"] < 1.0
    cv = block["cross_validated"]
    strict = calibrate(cal, target=0.95, tiers=TIERS, margin=block["margin"] + 0.03)
    assert strict["calibration"]["escalation_rate"] >= block["escalation_rate"]
    result = evaluate_replay(held, config)["cascade"]
    assert abs(result["quality_vs_strong"] - cv["quality_vs_strong"]) < 0.05
    assert result["quality_vs_strong"] >= 0.95
