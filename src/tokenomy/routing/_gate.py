"""``Gate``: the one extension point that judges an answer, and its and / or / score forms.

A gate looks at a request and the answer a model gave and returns a :class:`Verdict`: passed
or not, a score in [0, 1] (how sure the gate is the answer is usable) and a short reason. A
gate may also change the request before it is sent (:meth:`Gate.prepare`: an instruction that
lets the model answer ``UNCERTAIN``, or report its confidence). Gates compose: ``a & b``
(:class:`AllOf`: every gate passes; score the lowest), ``a | b`` (:class:`AnyOf`: one passes;
score the highest) and :class:`Scored` (a weighted mean of scores against a threshold).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tokenomy.exceptions import ConfigurationError
from tokenomy.pipeline import ModelRequest, ModelResponse

__all__ = ["AllOf", "AnyOf", "Gate", "Scored", "Verdict"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A gate's judgement of one answer: ``passed``, ``score`` in [0, 1], ``reason``."""

    passed: bool
    score: float
    reason: str = ""

    @classmethod
    def of(cls, passed: bool, reason: str = "") -> Verdict:
        """A yes/no verdict (score 1.0 or 0.0)."""
        return cls(passed, 1.0 if passed else 0.0, reason)


class Gate:
    """Base class of quality gates: override :meth:`check` (and :meth:`prepare` to change the
    request before it is sent)."""

    #: how the gate is named in reasons and records (default: the class name)
    name: str | None = None
    #: the gate calls a model (a judge, a second model): a cascade does not run it on the
    #: last tier, whose answer is returned whatever the verdict
    calls_model: bool = False

    @property
    def label(self) -> str:
        """:attr:`name`, else the class name."""
        return self.name or type(self).__name__

    def prepare(self, request: ModelRequest) -> ModelRequest:
        """The request to send when this gate will judge the answer (default: unchanged)."""
        return request

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        """Judge ``response`` (the complete answer to ``request``)."""
        raise NotImplementedError

    def __and__(self, other: Gate) -> Gate:
        return AllOf([self, other])

    def __or__(self, other: Gate) -> Gate:
        return AnyOf([self, other])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _Group(Gate):
    def __init__(self, gates: Sequence[Gate]) -> None:
        gates = tuple(gates)
        if not gates or not all(isinstance(g, Gate) for g in gates):
            raise ConfigurationError(
                f"{type(self).__name__} needs one or more tokenomy.routing.Gate instances, "
                f"got {list(gates)!r}"
            )
        self.gates: tuple[Gate, ...] = gates
        self.calls_model = any(g.calls_model for g in gates)

    def prepare(self, request: ModelRequest) -> ModelRequest:
        for gate in self.gates:
            request = gate.prepare(request)
        return request

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.gates)!r})"


class AllOf(_Group):
    """Passes when every gate passes (checked in order, stopping at the first that fails);
    the score is the lowest."""

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        lowest = 1.0
        for gate in self.gates:
            verdict = gate.check(request, response)
            if not verdict.passed:
                return Verdict(False, min(lowest, verdict.score), f"{gate.label}: {verdict.reason}")
            lowest = min(lowest, verdict.score)
        return Verdict(True, lowest, "all passed")

    def __and__(self, other: Gate) -> Gate:
        return AllOf([*self.gates, other])


class AnyOf(_Group):
    """Passes when one gate passes (checked in order, stopping at the first that does); the
    score is the highest seen."""

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        best = 0.0
        reasons = []
        for gate in self.gates:
            verdict = gate.check(request, response)
            best = max(best, verdict.score)
            if verdict.passed:
                return Verdict(True, best, f"{gate.label}: {verdict.reason}")
            reasons.append(f"{gate.label}: {verdict.reason}")
        return Verdict(False, best, "; ".join(reasons))

    def __or__(self, other: Gate) -> Gate:
        return AnyOf([*self.gates, other])


class Scored(Gate):
    """Passes when the weighted mean of the gates' scores reaches ``threshold``.

    ``Scored([(FinalNumber(), 1.0), (ArithmeticCheck(), 2.0)], threshold=0.8)``: each gate
    is checked (none stops the others); ``weights`` default to 1.
    """

    def __init__(
        self, gates: Sequence[Gate | tuple[Gate, float]], *, threshold: float
    ) -> None:
        pairs = [(g, 1.0) if isinstance(g, Gate) else (g[0], float(g[1])) for g in gates]
        if not pairs or any(not isinstance(g, Gate) or w <= 0 for g, w in pairs):
            raise ConfigurationError(
                "Scored needs gates (or (gate, weight > 0) pairs), got " + repr(list(gates))
            )
        if not 0.0 <= threshold <= 1.0:
            raise ConfigurationError(f"Scored threshold must be in [0, 1], got {threshold!r}")
        self.gates = tuple(pairs)
        self.threshold = threshold
        self.calls_model = any(g.calls_model for g, _ in pairs)

    def prepare(self, request: ModelRequest) -> ModelRequest:
        for gate, _ in self.gates:
            request = gate.prepare(request)
        return request

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        total = weight = 0.0
        failed = []
        for gate, w in self.gates:
            verdict = gate.check(request, response)
            total += w * verdict.score
            weight += w
            if not verdict.passed:
                failed.append(gate.label)
        score = total / weight
        reason = f"score {score:.2f} vs {self.threshold:.2f}"
        if failed:
            reason += " (failed: " + ", ".join(failed) + ")"
        return Verdict(score >= self.threshold, score, reason)

    def __repr__(self) -> str:
        return f"Scored({list(self.gates)!r}, threshold={self.threshold!r})"
