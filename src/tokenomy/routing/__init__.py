"""Cascade routing: the cheapest model whose answer passes a quality gate.

Framework-free: :class:`Cascade` is a pipeline :class:`~tokenomy.Policy` that asks its tiers
(cheap → strong) in turn until an answer passes its :class:`Gate`, each attempt a ledger record
under the call's run, tagged with the tier and the gate's verdict and score. Gates compose
(``&``, ``|``, :class:`Scored`); a :class:`PreRouter` may pick the first tier from the request
alone. :func:`evaluate_replay` / :func:`calibrate` replay labelled answers through the same
cascade code (``tokenomy route evaluate`` / ``calibrate``). The policy, gate composition and
pre-router names are also exported by :mod:`tokenomy`.
"""

from __future__ import annotations

from tokenomy.routing._answer_gates import (
    AnswerLine,
    ConsistentAnswer,
    GroundedSteps,
    ShowsWork,
    given_numbers,
)
from tokenomy.routing._calibrate import calibrate
from tokenomy.routing._cascade import RETRY_INSTRUCTION, Cascade, Tier
from tokenomy.routing._config import cascade_from_config, gate_from_config
from tokenomy.routing._gate import AllOf, AnyOf, Gate, Scored, Verdict
from tokenomy.routing._math_gates import (
    ArithmeticCheck,
    FinalNumber,
    PromptChars,
    UsesPromptNumbers,
    calculations,
    final_number,
)
from tokenomy.routing._model_gates import JUDGE_PROMPT, Agreement, Judge, normalized_answer
from tokenomy.routing._prerouter import LogisticPreRouter, PreRouter, RulePreRouter
from tokenomy.routing._replay import (
    ReplayRow,
    ReplaySender,
    calibrate_prerouter,
    evaluate_prerouter,
    evaluate_replay,
    load_replay,
    split_rows,
)
from tokenomy.routing._summary import RoutingSummary, routing_summary
from tokenomy.routing._text_gates import (
    CONFIDENCE_INSTRUCTION,
    REFUSAL_MARKERS,
    UNCERTAIN_INSTRUCTION,
    Logprobs,
    Markers,
    Matches,
    NotTruncated,
    SelfConfidence,
    StructuredOutput,
    Uncertain,
    Verifier,
    logprobs_of,
)

__all__ = [
    "CONFIDENCE_INSTRUCTION",
    "JUDGE_PROMPT",
    "REFUSAL_MARKERS",
    "RETRY_INSTRUCTION",
    "UNCERTAIN_INSTRUCTION",
    "Agreement",
    "AllOf",
    "AnswerLine",
    "AnyOf",
    "ArithmeticCheck",
    "Cascade",
    "ConsistentAnswer",
    "FinalNumber",
    "Gate",
    "GroundedSteps",
    "Judge",
    "LogisticPreRouter",
    "Logprobs",
    "Markers",
    "Matches",
    "NotTruncated",
    "PreRouter",
    "PromptChars",
    "ReplayRow",
    "ReplaySender",
    "RoutingSummary",
    "RulePreRouter",
    "Scored",
    "SelfConfidence",
    "ShowsWork",
    "StructuredOutput",
    "Tier",
    "Uncertain",
    "UsesPromptNumbers",
    "Verdict",
    "Verifier",
    "calculations",
    "calibrate",
    "calibrate_prerouter",
    "cascade_from_config",
    "evaluate_prerouter",
    "evaluate_replay",
    "final_number",
    "gate_from_config",
    "given_numbers",
    "load_replay",
    "logprobs_of",
    "normalized_answer",
    "routing_summary",
    "split_rows",
]
