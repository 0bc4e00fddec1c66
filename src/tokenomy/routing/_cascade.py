"""``Cascade``: ask the cheapest model first; escalate while a quality gate rejects the answer.

A pipeline :class:`~tokenomy.Policy` that calls ``call_next`` once per tier tried, each time
with the request's ``model`` (and ``provider``) replaced by the tier's, so every attempt is its
own ledger record under the call's run (attempt 1, 2, ...), tagged with the tier and, through
:attr:`ModelRequest.annotate <tokenomy.ModelRequest>`, the gate's verdict::

    route_tier=0  route_model=gpt-4o-mini  route_verdict=fail  route_score=0.00
    route_reason="arithmetic: 1 of 3 calculations wrong"  route_accepted=false
    route_tier=1  route_model=gpt-4o       route_verdict=pass  ...     route_accepted=true

The last tier's answer is always returned (its verdict is recorded all the same, except for a
gate that calls a model, ``Gate.calls_model``, which is not run there: "not judged"). An error on
a tier (after the retries of a policy after the cascade: the integrations put a
``Retry.like_sdk()`` there in place of the clients' own) falls through to the next tier (the
attempt's record has the error and the tier tags, no verdict); on the last tier it reaches
the caller. A streamed call streams the last tier
unbuffered; a lower tier's answer has to be complete to be judged, so it is read whole and,
when it passes, replayed to the caller as a stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tokenomy.exceptions import ConfigurationError
from tokenomy.pipeline import AsyncCallNext, CallNext, ModelRequest, ModelResponse, Policy
from tokenomy.routing._gate import Gate, Verdict
from tokenomy.routing._prerouter import PreRouter

__all__ = ["RETRY_INSTRUCTION", "Cascade", "Tier"]

Context = Literal["none", "answer"]

RETRY_INSTRUCTION = (
    "The answer above did not pass a quality check ({reason}). Answer the original request "
    "again, correctly and completely."
)


@dataclass(frozen=True, slots=True)
class Tier:
    """One model of a cascade: its name (and provider) as the wrapper's sender takes them, and
    the gate its answers must pass (``None``: the cascade's gate)."""

    model: str
    provider: str | None = None
    gate: Gate | None = None


class _Attempt:
    """The verdict of one tier's answer, filled by the record step's annotator."""

    __slots__ = ("accepted", "final", "gate", "request", "verdict")

    def __init__(self, gate: Gate | None, request: ModelRequest, final: bool) -> None:
        self.gate = gate
        self.request = request
        self.final = final
        self.verdict: Verdict | None = None
        self.accepted = final

    def annotate(self, response: ModelResponse) -> dict[str, Any]:
        if self.gate is None:
            verdict = Verdict(True, 1.0, "not judged" if self.final else "no gate")
        else:
            try:
                verdict = self.gate.check(self.request, response)
            except Exception as exc:  # a broken gate escalates; it never loses the answer
                verdict = Verdict(False, 0.0, f"gate error {type(exc).__name__}")
        self.verdict = verdict
        self.accepted = self.final or verdict.passed
        return {
            "route_verdict": "pass" if verdict.passed else "fail",
            "route_score": f"{verdict.score:.3f}",
            "route_reason": verdict.reason[:200],
            "route_accepted": "true" if self.accepted else "false",
        }


class Cascade(Policy):
    """Route each call through ``tiers`` (cheap → strong) until an answer passes ``gate``.

    * ``tiers``: model names or :class:`Tier`\\ s, cheapest first (at least one).
    * ``gate``: the :class:`Gate` every tier but the last must pass (a tier's own wins).
    * ``context``: ``"none"`` asks the next tier the original request; ``"answer"`` adds the
      rejected answer and :data:`RETRY_INSTRUCTION` (with the gate's reason) to it.
    * ``pre_router``: picks the first tier to try from the request alone.
    """

    name = "cascade"

    def __init__(
        self,
        tiers: Sequence[str | Tier],
        gate: Gate | None = None,
        *,
        context: Context = "none",
        pre_router: PreRouter | None = None,
    ) -> None:
        built = tuple(t if isinstance(t, Tier) else Tier(str(t)) for t in tiers)
        if not built or any(not t.model for t in built):
            raise ConfigurationError(
                "Cascade needs one or more tiers (model names, cheapest first), got "
                f"{list(tiers)!r}"
            )
        if gate is not None and not isinstance(gate, Gate):
            raise ConfigurationError(
                f"Cascade gate must be a tokenomy.routing.Gate, got {type(gate).__name__}"
            )
        if context not in ("none", "answer"):
            raise ConfigurationError(f"Cascade context must be 'none' or 'answer', got {context!r}")
        self.tiers = built
        self.gate = gate
        self.context: Context = context
        self.pre_router = pre_router

    def __repr__(self) -> str:
        models = [t.model for t in self.tiers]
        return f"Cascade({models!r}, gate={self.gate!r}, context={self.context!r})"

    @property
    def models(self) -> list[str]:
        """The tiers' model names, cheapest first."""
        return [t.model for t in self.tiers]

    # -- one attempt ------------------------------------------------------------------------

    def _start(self, request: ModelRequest) -> int:
        if self.pre_router is None:
            return 0
        return max(0, min(len(self.tiers) - 1, int(self.pre_router.start_tier(request))))

    def _attempt(self, request: ModelRequest, index: int, start: int) -> tuple[ModelRequest, _Attempt]:
        tier = self.tiers[index]
        final = index == len(self.tiers) - 1
        gate = tier.gate or self.gate
        if final and gate is not None and gate.calls_model:
            gate = None  # its answer is returned anyway: no judge call for nothing
        sent = request.replace(model=tier.model, provider=tier.provider or request.provider)
        if gate is not None:
            sent = gate.prepare(sent)
        # a lower tier's answer must be complete to be judged; the last one streams as asked
        sent = sent.replace(stream=request.stream and final).with_tags(
            route_tier=index, route_model=tier.model, route_start=start
        )
        attempt = _Attempt(gate, sent, final)
        return sent.replace(annotate=attempt.annotate), attempt

    def _escalated(
        self, request: ModelRequest, response: ModelResponse, attempt: _Attempt
    ) -> ModelRequest:
        if self.context != "answer" or response.error is not None:
            return request
        reason = attempt.verdict.reason if attempt.verdict else "rejected"
        note = RETRY_INSTRUCTION.format(reason=reason)
        if request.kind == "completion":
            return request.replace(prompt=f"{request.prompt or ''}\n\n{response.text}\n\n{note}")
        return request.replace(
            messages=[
                *request.messages,
                {"role": "assistant", "content": response.text},
                {"role": "user", "content": note},
            ]
        )

    @staticmethod
    def _returned(request: ModelRequest, response: ModelResponse) -> ModelResponse:
        # a lower tier's answer was read whole (to be judged): a streamed call gets it again
        # as a fresh stream of pieces
        if request.stream:
            return ModelResponse.replay(
                response, stream=True, attempt=response.attempt, record=response.record,
                native=None,
            )
        return response

    # -- the call -----------------------------------------------------------------------------

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        start = self._start(request)
        current = request
        for index in range(start, len(self.tiers)):
            sent, attempt = self._attempt(current, index, start)
            if attempt.final:
                return call_next(sent)
            try:
                response = call_next(sent).consume()
            except Exception:
                continue  # recorded by the attempt step (error); the next tier answers
            if response.error is None and attempt.accepted:
                return self._returned(request, response)
            current = self._escalated(current, response, attempt)
        raise AssertionError("unreachable: the last tier always returns")  # pragma: no cover

    async def ahandle(self, request: ModelRequest, call_next: AsyncCallNext) -> ModelResponse:
        start = self._start(request)
        current = request
        for index in range(start, len(self.tiers)):
            sent, attempt = self._attempt(current, index, start)
            if attempt.final:
                return await call_next(sent)
            try:
                response = await (await call_next(sent)).aconsume()
            except Exception:
                continue
            if response.error is None and attempt.accepted:
                return self._returned(request, response)
            current = self._escalated(current, response, attempt)
        raise AssertionError("unreachable: the last tier always returns")  # pragma: no cover
