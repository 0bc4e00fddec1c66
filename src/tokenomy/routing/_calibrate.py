"""Calibration of a cascade's gate on a labelled replay set (``tokenomy route calibrate``).

The gate is a :class:`~tokenomy.routing.Scored` gate over :data:`SCORED_TERMS`, model-free
checks of the cheap answer (final number, arithmetic, consistency of the final number with the
work shown, the answer line, grounded operands, steps shown, prompt numbers used, markers,
prompt length), each computed once per row with the same :class:`Gate` code the cascade runs.

1. Weights: a logistic regression (numpy, deterministic) of the cheap answer's correctness on
   the checks' scores; terms with a weight <= 0 are dropped and the rest refit, so the
   weighted mean of scores is a monotone map of the fitted chance.
2. Threshold, chosen on *out-of-fold* chances (``folds`` seeded folds: each row scored by a
   model that never saw it), so it is not the tightest point of an in-sample curve: the
   loosest chance threshold whose expected quality reaches ``target`` x the strong model's
   quality + ``margin``. Expected quality is computed from the chances, not by counting
   labels: an accepted row counts its chance of being right, an escalated row the strong
   model's accuracy given the cheap one's outcome. The counted curve is flat and noisy over a
   wide range of thresholds (a few rows decide where it first dips under the target); the
   expected one is smooth.
3. A floor: on the calibration rows the chosen gate's counted quality must reach the target
   itself (no margin); else the next stricter threshold is taken.

The config's ``calibration`` block holds the figures on the calibration rows (counted with
the gate: they equal what :func:`evaluate_replay` gives on those rows) and the out-of-fold
estimate (``cross_validated``), the honest guess for unseen rows.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from tokenomy.exceptions import ConfigurationError
from tokenomy.pipeline import ModelResponse
from tokenomy.routing._config import gate_from_config
from tokenomy.routing._gate import Gate, Verdict
from tokenomy.routing._replay import ReplayRow, _call_cost, _request, _Tier, _tiers

__all__ = ["GATE_MARGIN_Z", "SCORED_TERMS", "calibrate"]

#: standard errors of quality added to the gate calibration target by default
GATE_MARGIN_Z = 0.5

#: the checks whose scores a calibrated :class:`Scored` gate weighs (all "higher is better")
SCORED_TERMS: tuple[Mapping[str, Any], ...] = (
    {"gate": "final_number", "whole": True},
    {"gate": "arithmetic"},
    {"gate": "consistent_answer"},
    {"gate": "answer_line"},
    {"gate": "grounded_steps"},
    {"gate": "shows_work", "min_steps": 3},
    {"gate": "uses_prompt_numbers", "max_unused": 0},
    {"gate": "markers"},
    {"gate": "prompt_chars", "limit": 150},
    {"gate": "prompt_chars", "limit": 250},
    {"gate": "prompt_chars", "limit": 400},
)


def _response(row: ReplayRow, tier: _Tier) -> ModelResponse:
    return ModelResponse(
        message={"role": "assistant", "content": row.answers.get(tier.key) or ""},
        finish_reason="stop",
        model=tier.model,
    )


def _verdict(gate: Gate, row: ReplayRow, tier: _Tier) -> Verdict:
    """``gate``'s verdict on ``tier``'s recorded answer to ``row`` (what the cascade sees)."""
    return gate.check(_request(row).replace(model=tier.model), _response(row, tier))


def _fit(x: Any, y: Any) -> tuple[Any, float]:
    """Logistic regression by gradient descent (small L2), deterministic."""
    import numpy as np

    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(3000):
        g = 1.0 / (1.0 + np.exp(-(x @ w + b))) - y
        w -= 0.5 * (x.T @ g / len(y) + 1e-3 * w)
        b -= 0.5 * float(g.mean())
    return w, b


def _positive_fit(x: Any, y: Any) -> tuple[list[int], Any, float]:
    """Fit, drop terms weighted <= 0.01, refit on the rest (until none is dropped)."""
    import numpy as np

    keep = list(range(x.shape[1]))
    while keep:
        w, b = _fit(x[:, keep], y)
        if all(v > 0.01 for v in w):
            return keep, w, b
        keep = [k for k, v in zip(keep, w, strict=True) if v > 0.01]
    return [], np.zeros(0), 0.0


def _chances(x: Any, y: Any, folds: int, seed: int) -> Any:
    """Each row's out-of-fold chance that the cheap answer is right."""
    import numpy as np

    order = list(range(len(y)))
    random.Random(seed).shuffle(order)
    out = np.full(len(y), float(y.mean()) if len(y) else 0.5)
    for k in range(folds):
        test = sorted(order[k::folds])
        train = sorted(set(order) - set(test))
        if not test or len(set(y[train].tolist())) < 2:
            continue
        keep, w, b = _positive_fit(x[train], y[train])
        if keep:
            out[test] = 1.0 / (1.0 + np.exp(-(x[test][:, keep] @ w + b)))
    return out


def calibrate(
    rows: Sequence[ReplayRow],
    *,
    target: float,
    tiers: Sequence[Mapping[str, Any]],
    context: str = "none",
    margin: float | None = None,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """The cascade config (two tiers) whose :class:`Scored` gate reaches ``target`` x the
    strongest model's quality on unseen rows like ``rows`` at the lowest cost (module
    docstring). ``margin``: a share of rows added to the target (default
    :data:`GATE_MARGIN_Z` standard errors of that quality on ``len(rows)`` rows)."""
    import numpy as np

    if not 0.0 < target <= 1.0:
        raise ConfigurationError(f"target quality must be in (0, 1], got {target!r}")
    config: dict[str, Any] = {"tiers": [dict(t) for t in tiers], "gate": None, "context": context}
    built = _tiers(config)
    cheap, strong = built[0], built[-1]
    if any(r.answers.get(cheap.key) is None for r in rows):
        raise ConfigurationError(
            f"the {cheap.key!r} answers have no text: a gate cannot judge them "
            "(use pre-routing: calibrate_prerouter)"
        )
    n = max(len(rows), 1)
    gates = [gate_from_config(t) for t in SCORED_TERMS]
    x = np.array([[_verdict(g, r, cheap).score for g in gates] for r in rows]).reshape(
        len(rows), len(gates)
    )
    y = np.array([1.0 if r.correct[cheap.key] else 0.0 for r in rows])
    ys = np.array([1.0 if r.correct[strong.key] else 0.0 for r in rows])
    cost_cheap = [_call_cost(r, cheap) for r in rows]
    cost_strong = [_call_cost(r, strong) for r in rows]
    goal = target * float(ys.sum()) / n
    if margin is None:
        margin = GATE_MARGIN_Z * math.sqrt(goal * (1 - goal) / n)
    config["calibration"] = {"rows": len(rows), "target": target, "reached": False,
                             "margin": round(margin, 4), "strong_quality": round(goal / target, 4)}
    keep, w, b = _positive_fit(x, y) if len(set(y.tolist())) == 2 else ([], np.zeros(0), 0.0)
    chances = _chances(x, y, max(2, min(folds, len(rows) // 2)), seed) if keep else y
    # escalated rows: the strong model's accuracy given the cheap answer's outcome
    right_if_right = float(ys[y == 1].mean()) if (y == 1).any() else 0.0
    right_if_wrong = float(ys[y == 0].mean()) if (y == 0).any() else 0.0
    escalated = chances * right_if_right + (1 - chances) * right_if_wrong

    def expected(t: float) -> float:
        accept = chances >= t
        return float(np.where(accept, chances, escalated).sum()) / n

    best: tuple[float, Any] | None = None
    for t in sorted(set(chances.tolist())) if keep else ():
        if expected(t) < goal + margin:
            continue
        mean_threshold = (math.log(t / (1 - t)) - b) / float(w.sum()) if 0 < t < 1 else t
        mean_threshold = min(1.0, max(0.0, round(mean_threshold, 6)))
        spec = {"scored": [[dict(SCORED_TERMS[k]), round(float(v), 4)]
                           for k, v in zip(keep, w, strict=True)],
                "threshold": mean_threshold}
        gate = gate_from_config(spec)
        passed = [_verdict(gate, r, cheap).passed for r in rows]
        right = sum(r.correct[cheap.key] if ok else r.correct[strong.key]
                    for r, ok in zip(rows, passed, strict=True))
        if right >= goal * len(rows):  # the floor: counted quality reaches the target itself
            best = (t, (spec, passed, right))
            break
    if best is None:  # nothing reaches the target: send everything to the strongest
        config["gate"] = {"gate": "matches", "pattern": "(?!)"}
        return config
    t, (spec, passed, right) = best
    cost = sum((c if ok else c + s for c, s, ok in zip(cost_cheap, cost_strong, passed,
                                                      strict=True)), Decimal(0))
    oof_accept = chances >= t
    oof_cost = sum((c if ok else c + s for c, s, ok in zip(cost_cheap, cost_strong,
                                                          oof_accept.tolist(), strict=True)),
                   Decimal(0))
    oof_right = float(np.where(oof_accept, y, ys).sum())
    strong_cost = sum(cost_strong, Decimal(0))
    config["gate"] = spec
    config["calibration"].update({
        "reached": True,
        "expected_cost_usd": str(cost.quantize(Decimal("0.000001"))),
        "expected_quality": round(right / n, 4),
        "escalation_rate": round(1 - sum(passed) / n, 4),
        "chance_threshold": round(t, 4),
        "cross_validated": {
            "quality_vs_strong": round(oof_right / max(float(ys.sum()), 1.0), 4),
            "saving_vs_strong": round(float(1 - oof_cost / strong_cost), 4) if strong_cost else None,
            "escalation_rate": round(1 - float(oof_accept.mean()), 4),
        },
    })
    return config

