"""Properties of gate composition and of the cascade, over generated verdicts and answers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomy import MemoryLedger, ModelRequest, ModelResponse, Pipeline
from tokenomy.routing import AllOf, AnyOf, Cascade, Gate, Scored, Verdict
from tokenomy.testing import MockSender

REQ = ModelRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "q"}])
ANSWER = ModelResponse(message={"role": "assistant", "content": "a"})
SETTINGS = settings(max_examples=150, deadline=None)

verdicts = st.builds(Verdict, st.booleans(), st.floats(0.0, 1.0))


class Fixed(Gate):
    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        return self.verdict


@SETTINGS
@given(st.lists(verdicts, min_size=1, max_size=6))
def test_all_of_and_any_of_are_and_and_or(items: list[Verdict]) -> None:
    """AllOf passes iff every gate passes, AnyOf iff one does; AllOf's score is never above
    any score it saw, a passing AllOf's is the lowest; AnyOf's is never below those seen."""
    gates = [Fixed(v) for v in items]
    all_of, any_of = AllOf(gates).check(REQ, ANSWER), AnyOf(gates).check(REQ, ANSWER)
    assert all_of.passed == all(v.passed for v in items)
    assert any_of.passed == any(v.passed for v in items)
    if all_of.passed:
        assert all_of.score == min(v.score for v in items)
    first_pass = next((i for i, v in enumerate(items) if v.passed), len(items) - 1)
    assert any_of.score == max(v.score for v in items[: first_pass + 1])


@SETTINGS
@given(
    st.lists(st.tuples(verdicts, st.floats(0.1, 10.0)), min_size=1, max_size=6),
    st.floats(0.0, 1.0),
)
def test_scored_is_the_weighted_mean_against_the_threshold(
    items: list[tuple[Verdict, float]], threshold: float
) -> None:
    """Scored's score is the weighted mean of the scores, and it passes exactly when that
    mean reaches the threshold."""
    verdict = Scored([(Fixed(v), w) for v, w in items], threshold=threshold).check(REQ, ANSWER)
    mean = sum(v.score * w for v, w in items) / sum(w for _, w in items)
    assert abs(verdict.score - mean) < 1e-9
    assert verdict.passed == (verdict.score >= threshold)


@SETTINGS
@given(st.lists(st.booleans(), min_size=1, max_size=4))
def test_cascade_returns_the_first_passing_tier_and_records_each_attempt(
    passes: list[bool],
) -> None:
    """With tiers whose answers pass or fail, the cascade returns the first passing tier's
    answer (else the last tier's), asks no tier after it, and records one attempt per tier
    asked, numbered 1.. under one run, exactly one of them accepted."""
    models = ["gpt-4o-mini", "gpt-4.1-nano", "gpt-4.1-mini", "gpt-4o"][: len(passes)]
    verdict_of = dict(zip(models, passes, strict=True))

    class ByModel(Gate):
        def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
            return Verdict.of(verdict_of[request.model or ""])

    send = MockSender(lambda request: f"answer of {request.model}")
    ledger = MemoryLedger()
    response = Pipeline([Cascade(models, ByModel())], ledger=ledger).call(
        ModelRequest(model=None, messages=REQ.messages), send
    )
    answered = next((i for i, ok in enumerate(passes) if ok), len(passes) - 1)
    assert response.text == f"answer of {models[answered]}"
    records = ledger.query()
    assert [r.attempt for r in records] == list(range(1, answered + 2))
    assert len({r.run_id for r in records}) == 1
    assert [r.tags["route_accepted"] for r in records].count("true") == 1
