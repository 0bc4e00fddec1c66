"""Gates and cascades from plain JSON (what ``tokenomy route calibrate`` writes).

A gate spec is ``{"gate": NAME, ...options}``, or a composite: ``{"all": [spec, ...]}``,
``{"any": [spec, ...]}``, ``{"scored": [[spec, weight], ...], "threshold": T}``. Names:
``final_number`` (marked, whole), ``arithmetic`` (tolerance), ``markers``, ``uncertain``,
``uses_prompt_numbers`` (max_unused), ``prompt_chars`` (limit), ``consistent_answer``,
``answer_line``, ``grounded_steps``, ``shows_work`` (min_steps), ``matches`` (pattern, absent),
``not_truncated``, ``self_confidence`` (minimum, ask), ``logprobs`` (minimum),
``structured_output`` (schema: a JSON schema). A cascade config::

    {"tiers": [{"model": "gpt-4o-mini", "key": "cheap",
                "price_per_million": {"input": "0.60", "output": "0.60"}}, ...],
     "gate": SPEC or null, "context": "none" | "answer", "pre_router": {...} or null}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tokenomy.exceptions import ConfigurationError
from tokenomy.routing._answer_gates import AnswerLine, ConsistentAnswer, GroundedSteps, ShowsWork
from tokenomy.routing._cascade import Cascade, Tier
from tokenomy.routing._gate import AllOf, AnyOf, Gate, Scored
from tokenomy.routing._math_gates import (
    ArithmeticCheck,
    FinalNumber,
    PromptChars,
    UsesPromptNumbers,
)
from tokenomy.routing._prerouter import LogisticPreRouter, PreRouter, RulePreRouter
from tokenomy.routing._text_gates import (
    Logprobs,
    Markers,
    Matches,
    NotTruncated,
    SelfConfidence,
    StructuredOutput,
    Uncertain,
)

__all__ = ["cascade_from_config", "gate_from_config", "pre_router_from_config"]

_GATES: dict[str, Callable[..., Gate]] = {
    "final_number": FinalNumber,
    "arithmetic": ArithmeticCheck,
    "markers": Markers,
    "uncertain": Uncertain,
    "uses_prompt_numbers": UsesPromptNumbers,
    "prompt_chars": PromptChars,
    "consistent_answer": ConsistentAnswer,
    "answer_line": AnswerLine,
    "grounded_steps": GroundedSteps,
    "shows_work": ShowsWork,
    "matches": Matches,
    "not_truncated": NotTruncated,
    "self_confidence": SelfConfidence,
    "logprobs": Logprobs,
    "structured_output": StructuredOutput,
}


def gate_from_config(spec: Mapping[str, Any]) -> Gate:
    """The :class:`Gate` a JSON spec describes (module docstring)."""
    if not isinstance(spec, Mapping):
        raise ConfigurationError(f"a gate spec is a JSON object, got {spec!r}")
    if "all" in spec:
        return AllOf([gate_from_config(s) for s in spec["all"]])
    if "any" in spec:
        return AnyOf([gate_from_config(s) for s in spec["any"]])
    if "scored" in spec:
        pairs = [(gate_from_config(s), float(w)) for s, w in spec["scored"]]
        return Scored(pairs, threshold=float(spec.get("threshold", 0.5)))
    name = spec.get("gate")
    if name not in _GATES:
        raise ConfigurationError(
            f"unknown gate {name!r}: use one of {sorted(_GATES)} or all/any/scored"
        )
    options = {k: v for k, v in spec.items() if k != "gate"}
    try:
        return _GATES[name](**options)
    except TypeError as exc:
        raise ConfigurationError(f"gate {name!r}: bad options {options!r} ({exc})") from None


def pre_router_from_config(spec: Mapping[str, Any] | None) -> PreRouter | None:
    """The pre-router a JSON spec describes (``kind``: ``rules`` or ``logistic``)."""
    if not spec:
        return None
    kind = spec.get("kind")
    if kind == "logistic":
        return LogisticPreRouter.from_config(spec)
    if kind == "rules":
        return RulePreRouter(
            max_chars=spec.get("max_chars"),
            keywords=spec.get("keywords", ()),
            strong_tier=int(spec.get("strong_tier", 1)),
        )
    raise ConfigurationError(f"unknown pre_router kind {kind!r}: use 'rules' or 'logistic'")


def cascade_from_config(config: Mapping[str, Any]) -> Cascade:
    """The :class:`Cascade` a config describes (module docstring)."""
    tiers = config.get("tiers")
    if not isinstance(tiers, list) or not tiers:
        raise ConfigurationError("a cascade config needs 'tiers': a list of {model: ...}")
    built = [
        Tier(str(t["model"]), provider=t.get("provider"))
        if isinstance(t, Mapping)
        else Tier(str(t))
        for t in tiers
    ]
    gate = config.get("gate")
    return Cascade(
        built,
        gate_from_config(gate) if gate else None,
        context=config.get("context", "none"),
        pre_router=pre_router_from_config(config.get("pre_router")),
    )
