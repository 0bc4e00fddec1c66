"""Replay evaluation and calibration: recorded answers through the real cascade code.

A replay set is JSONL, one row per prompt: ``{"id", "prompt", "<key>": {"model", "response",
"correct"}, ...}`` (the format of the shared ``routing/gsm8k-dev.jsonl``; ``mmlu-dev.jsonl``
has no ``response``: pre-routing only). :class:`ReplaySender` answers each tier's call with the
row's recorded answer (usage counted with ``cl100k_base``: no provider call), so
:func:`evaluate_replay` runs every row through a :class:`~tokenomy.Pipeline` holding the
:class:`Cascade` itself and reads cost and quality back from the ledger records. The
baselines (always-cheap, always-strong, the oracle router: the cheap model when it is right)
are computed from the same token counts and prices.

:func:`calibrate` chooses the gate: every AND-combination of a small family of model-free
checks (final number, arithmetic, markers, prompt numbers used, prompt length), evaluated
once per row with the same :class:`Gate` code, keeping the cheapest whose quality reaches
``target`` x the strongest model's.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tokenomy.exceptions import ConfigurationError
from tokenomy.pipeline import ModelRequest, ModelResponse
from tokenomy.routing._config import cascade_from_config, gate_from_config
from tokenomy.routing._gate import Gate
from tokenomy.routing._prerouter import LogisticPreRouter, PreRouter, RulePreRouter

__all__ = [
    "ReplayRow",
    "ReplaySender",
    "calibrate",
    "calibrate_prerouter",
    "evaluate_prerouter",
    "evaluate_replay",
    "load_replay",
    "split_rows",
]

_MILLION = Decimal(1_000_000)
#: standard errors of quality added to the calibration target by default
MARGIN_Z = 0.5
#: output tokens of an answer a replay set does not hold (MMLU: one letter)
NO_TEXT_OUTPUT_TOKENS = 1


@dataclass(slots=True)
class ReplayRow:
    """One prompt of a replay set: each model's (by key) recorded answer and correctness."""

    id: str
    prompt: str
    models: dict[str, str]
    answers: dict[str, str | None]
    correct: dict[str, bool]
    _tokens: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    def tokens(self, key: str) -> tuple[int, int]:
        """``(input, output)`` tokens of ``key``'s call, counted with cl100k_base."""
        found = self._tokens.get(key)
        if found is None:
            from tokenomy.tokens import get_encoding

            enc = get_encoding("cl100k_base")
            answer = self.answers.get(key)
            out = (
                len(enc.encode(answer, disallowed_special=()))
                if answer is not None
                else NO_TEXT_OUTPUT_TOKENS
            )
            found = (len(enc.encode(self.prompt, disallowed_special=())), out)
            self._tokens[key] = found
        return found


def load_replay(path: str | Path) -> list[ReplayRow]:
    """Read a replay JSONL file (module docstring); ``ConfigurationError`` names the bad line."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                prompt = raw["prompt"]
                keyed = {k: v for k, v in raw.items() if isinstance(v, dict) and "correct" in v}
                if not isinstance(prompt, str) or len(keyed) < 2:
                    raise ValueError("needs a prompt and two or more models")
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigurationError(f"{path}:{n}: not a replay row ({exc})") from None
            rows.append(
                ReplayRow(
                    id=str(raw.get("id", n)),
                    prompt=prompt,
                    models={k: str(v.get("model") or k) for k, v in keyed.items()},
                    answers={k: v.get("response") for k, v in keyed.items()},
                    correct={k: bool(v["correct"]) for k, v in keyed.items()},
                )
            )
    return rows


def split_rows(
    rows: Sequence[ReplayRow], *, fraction: float = 0.5, seed: int = 0
) -> tuple[list[ReplayRow], list[ReplayRow]]:
    """``(calibration, held_out)``: a seeded shuffle cut at ``fraction``."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    cut = round(len(rows) * fraction)
    return [rows[i] for i in sorted(order[:cut])], [rows[i] for i in sorted(order[cut:])]


# -- prices ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tier:
    key: str
    model: str
    input: Decimal  # USD per token
    output: Decimal


def _tiers(config: Mapping[str, Any]) -> list[_Tier]:
    out = []
    for t in config.get("tiers", ()):
        price = t.get("price_per_million") or {}
        try:
            out.append(
                _Tier(
                    key=str(t.get("key") or t["model"]),
                    model=str(t["model"]),
                    input=Decimal(str(price["input"])) / _MILLION,
                    output=Decimal(str(price["output"])) / _MILLION,
                )
            )
        except (KeyError, ArithmeticError) as exc:
            raise ConfigurationError(
                f"each tier needs model and price_per_million {{input, output}} ({exc!r})"
            ) from None
    if len(out) < 2:
        raise ConfigurationError("a routing config needs two or more tiers, cheapest first")
    return out


def _call_cost(row: ReplayRow, tier: _Tier) -> Decimal:
    tokens_in, tokens_out = row.tokens(tier.key)
    return tokens_in * tier.input + tokens_out * tier.output


def _price_book(tiers: Sequence[_Tier]) -> Any:
    from tokenomy.pricing import ModelPrice, PriceBook

    return PriceBook.default().with_overrides(
        {t.model: ModelPrice(input=t.input, output=t.output) for t in tiers}
    )


# -- the sender ----------------------------------------------------------------------------------


class ReplaySender:
    """Answers a pipeline's calls from one :class:`ReplayRow`: the recorded answer of the
    model the request names (by model name or key), with its cl100k token counts as usage."""

    def __init__(self, row: ReplayRow, keys: Mapping[str, str]) -> None:
        self.row = row
        self.keys = dict(keys)  # model name -> row key
        self.calls: list[str] = []

    def __call__(self, request: ModelRequest) -> ModelResponse:
        from tokenomy.usage import Usage

        key = self.keys.get(request.model or "", request.model or "")
        if key not in self.row.correct:
            raise ConfigurationError(f"replay row {self.row.id} has no answer for {request.model!r}")
        self.calls.append(key)
        tokens_in, tokens_out = self.row.tokens(key)
        return ModelResponse(
            message={"role": "assistant", "content": self.row.answers.get(key) or ""},
            usage=Usage(input=tokens_in, output=tokens_out),
            finish_reason="stop",
            model=request.model,
        )


def _request(row: ReplayRow) -> ModelRequest:
    return ModelRequest(model=None, messages=[{"role": "user", "content": row.prompt}])


# -- results -------------------------------------------------------------------------------------


def _summary(cost: Decimal, correct: int, n: int, **more: Any) -> dict[str, Any]:
    return {
        "cost_usd": str(cost.quantize(Decimal("0.000001"))),
        "cost_per_1k_prompts_usd": str((cost * 1000 / max(n, 1)).quantize(Decimal("0.0001"))),
        "quality": round(correct / max(n, 1), 4),
        **more,
    }


def _baselines(rows: Sequence[ReplayRow], tiers: Sequence[_Tier]) -> dict[str, dict[str, Any]]:
    cheap, strong = tiers[0], tiers[-1]
    out = {}
    for name, tier in (("always_cheap", cheap), ("always_strong", strong)):
        out[name] = _summary(
            sum((_call_cost(r, tier) for r in rows), Decimal(0)),
            sum(r.correct[tier.key] for r in rows),
            len(rows),
        )
    oracle_cost, oracle_right, cheap_used = Decimal(0), 0, 0
    for r in rows:
        tier = next((t for t in tiers if r.correct[t.key]), cheap)
        cheap_used += tier is cheap
        oracle_cost += _call_cost(r, tier)
        oracle_right += r.correct[tier.key]
    out["oracle"] = _summary(
        oracle_cost, oracle_right, len(rows), escalation_rate=round(1 - cheap_used / max(len(rows), 1), 4)
    )
    return out


def _relative(result: dict[str, Any], strong: dict[str, Any]) -> dict[str, Any]:
    strong_cost, strong_quality = Decimal(strong["cost_usd"]), strong["quality"]
    result["saving_vs_strong"] = (
        round(float(1 - Decimal(result["cost_usd"]) / strong_cost), 4) if strong_cost else None
    )
    result["quality_vs_strong"] = (
        round(result["quality"] / strong_quality, 4) if strong_quality else None
    )
    return result


def evaluate_replay(rows: Sequence[ReplayRow], config: Mapping[str, Any]) -> dict[str, Any]:
    """Run every row through a pipeline holding the config's :class:`Cascade` (recorded
    answers, no provider call); return cost, quality, escalation rate and cost per tier from
    the ledger records, next to the baselines."""
    from tokenomy.ledger import MemoryLedger
    from tokenomy.pipeline import Pipeline

    tiers = _tiers(config)
    cascade = cascade_from_config(config)
    keys = {t.model: t.key for t in tiers}
    ledger = MemoryLedger()
    pipeline = Pipeline([cascade], ledger=ledger, price_book=_price_book(tiers))
    answered: dict[Any, ReplayRow] = {}
    for row in rows:
        response = pipeline.call(_request(row), ReplaySender(row, keys))
        answered[response.record.run_id] = row
    cost = Decimal(0)
    per_tier: dict[str, Decimal] = {t.key: Decimal(0) for t in tiers}
    calls: dict[str, int] = {t.key: 0 for t in tiers}
    correct = escalated = 0
    runs: dict[Any, list[Any]] = {}
    for record in ledger.query():
        runs.setdefault(record.run_id, []).append(record)
        key = keys.get(record.model, record.model)
        total = record.cost.total if record.cost is not None else Decimal(0)
        cost += total
        per_tier[key] = per_tier.get(key, Decimal(0)) + total
        calls[key] = calls.get(key, 0) + 1
    for run_id, records in runs.items():
        row = answered[run_id]
        accepted = [r for r in records if r.tags.get("route_accepted") == "true"]
        final = accepted[-1] if accepted else records[-1]
        correct += row.correct[keys.get(final.model, final.model)]
        escalated += len(records) > 1
    result = _summary(
        cost,
        correct,
        len(rows),
        escalation_rate=round(escalated / max(len(rows), 1), 4),
        calls_per_tier=calls,
        cost_per_tier_usd={k: str(v.quantize(Decimal("0.000001"))) for k, v in per_tier.items()},
    )
    base = _baselines(rows, tiers)
    for name in base:
        _relative(base[name], base["always_strong"])
    return {
        "rows": len(rows),
        "cascade": _relative(result, base["always_strong"]),
        **base,
    }


# -- calibration -------------------------------------------------------------------------------

#: the model-free checks calibration combines (each an optional AND term)
CANDIDATE_TERMS: tuple[tuple[str, tuple[Mapping[str, Any] | None, ...]], ...] = (
    ("final_number", (None, {"gate": "final_number"}, {"gate": "final_number", "whole": True})),
    ("arithmetic", (None, {"gate": "arithmetic"})),
    ("markers", (None, {"gate": "markers"})),
    (
        "uses_prompt_numbers",
        (None, {"gate": "uses_prompt_numbers", "max_unused": 0},
         {"gate": "uses_prompt_numbers", "max_unused": 1}),
    ),
    (
        "prompt_chars",
        (None, *({"gate": "prompt_chars", "limit": n} for n in (150, 200, 250, 300, 400))),
    ),
)


def _candidate_specs() -> list[list[Mapping[str, Any]]]:
    choices = [options for _, options in CANDIDATE_TERMS]
    return [[s for s in combo if s is not None] for combo in itertools.product(*choices)]


def calibrate(
    rows: Sequence[ReplayRow],
    *,
    target: float,
    tiers: Sequence[Mapping[str, Any]],
    context: str = "none",
    margin: float | None = None,
) -> dict[str, Any]:
    """The cascade config (two tiers) whose gate reaches ``target`` x the strongest model's
    quality on ``rows`` plus ``margin`` (a share of rows; default ``z`` standard errors of that
    quality on ``len(rows)`` rows, so the choice holds on data not seen here) at the lowest
    cost (ties: the higher quality); its expected figures on ``rows`` under
    ``"calibration"``."""
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
    # each distinct check once per row, with the same Gate code the cascade runs
    verdicts: dict[str, list[bool]] = {}
    for _, options in CANDIDATE_TERMS:
        for spec in options:
            if spec is not None:
                gate = gate_from_config(spec)
                verdicts[json.dumps(spec, sort_keys=True)] = [
                    _passes(gate, row, cheap) for row in rows
                ]
    cost_cheap = [_call_cost(r, cheap) for r in rows]
    cost_strong = [_call_cost(r, strong) for r in rows]
    share = target * sum(r.correct[strong.key] for r in rows) / max(len(rows), 1)
    if margin is None:
        margin = MARGIN_Z * math.sqrt(share * (1 - share) / max(len(rows), 1))
    goal = (share + margin) * len(rows)
    best: tuple[Decimal, int, Mapping[str, Any] | None] | None = None
    for specs in _candidate_specs():
        columns = [verdicts[json.dumps(s, sort_keys=True)] for s in specs]
        cost, right = Decimal(0), 0
        for i, row in enumerate(rows):
            ok = all(col[i] for col in columns)
            cost += cost_cheap[i] if ok else cost_cheap[i] + cost_strong[i]
            right += row.correct[cheap.key] if ok else row.correct[strong.key]
        if right >= goal and (best is None or (cost, -right) < (best[0], -best[1])):
            best = (cost, right, {"all": list(specs)} if specs else None)
    for cost, right, spec in _scored_candidates(rows, cheap, strong, cost_cheap, cost_strong):
        if right >= goal and (best is None or (cost, -right) < (best[0], -best[1])):
            best = (cost, right, spec)
    if best is None:  # nothing reaches the target: send everything to the strongest
        config["gate"] = {"gate": "matches", "pattern": "(?!)"}
        config["calibration"] = {"rows": len(rows), "target": target, "reached": False}
        return config
    cost, right, spec = best
    config["gate"] = spec
    config["calibration"] = {
        "rows": len(rows),
        "target": target,
        "reached": True,
        "expected_cost_usd": str(cost.quantize(Decimal("0.000001"))),
        "expected_quality": round(right / max(len(rows), 1), 4),
        "margin": round(margin, 4),
        "strong_quality": round(sum(r.correct[strong.key] for r in rows) / max(len(rows), 1), 4),
    }
    return config


def _verdict(gate: Gate, row: ReplayRow, tier: _Tier) -> Any:
    request = _request(row).replace(model=tier.model)
    response = ModelResponse(
        message={"role": "assistant", "content": row.answers.get(tier.key) or ""},
        finish_reason="stop",
        model=tier.model,
    )
    return gate.check(request, response)


def _passes(gate: Gate, row: ReplayRow, tier: _Tier) -> bool:
    return bool(_verdict(gate, row, tier).passed)


#: the checks whose scores a calibrated :class:`Scored` gate weighs
SCORED_TERMS: tuple[Mapping[str, Any], ...] = (
    {"gate": "final_number", "whole": True},
    {"gate": "arithmetic"},
    {"gate": "uses_prompt_numbers", "max_unused": 0},
    {"gate": "prompt_chars", "limit": 150},
    {"gate": "prompt_chars", "limit": 250},
    {"gate": "prompt_chars", "limit": 400},
)


def _scored_candidates(
    rows: Sequence[ReplayRow],
    cheap: _Tier,
    strong: _Tier,
    cost_cheap: Sequence[Decimal],
    cost_strong: Sequence[Decimal],
) -> list[tuple[Decimal, int, Mapping[str, Any]]]:
    """:class:`Scored` gates over :data:`SCORED_TERMS`: weights from a logistic regression of
    the cheap answer's correctness on the checks' scores (numpy, deterministic; terms with a
    weight <= 0 dropped), one candidate per distinct score on ``rows`` as the threshold."""
    import numpy as np

    scores = np.array(
        [[_verdict(gate_from_config(t), r, cheap).score for t in SCORED_TERMS] for r in rows]
    )
    y = np.array([1.0 if r.correct[cheap.key] else 0.0 for r in rows])
    w, b = np.zeros(len(SCORED_TERMS)), 0.0
    for _ in range(3000):
        g = 1.0 / (1.0 + np.exp(-(scores @ w + b))) - y
        w -= 0.5 * (scores.T @ g / len(y) + 1e-3 * w)
        b -= 0.5 * float(g.mean())
    keep = [i for i in range(len(SCORED_TERMS)) if w[i] > 0.01]
    if not keep:
        return []
    weights = [round(float(w[i]), 3) for i in keep]
    mean = (scores[:, keep] @ np.array(weights)) / sum(weights)
    out: list[tuple[Decimal, int, Mapping[str, Any]]] = []
    for threshold in sorted({round(float(m), 4) for m in mean}):
        cost, right = Decimal(0), 0
        for i, row in enumerate(rows):
            ok = mean[i] >= threshold - 1e-9
            cost += cost_cheap[i] if ok else cost_cheap[i] + cost_strong[i]
            right += row.correct[cheap.key] if ok else row.correct[strong.key]
        spec = {
            "scored": [[dict(SCORED_TERMS[i]), wt] for i, wt in zip(keep, weights, strict=True)],
            "threshold": max(0.0, threshold - 1e-6),
        }
        out.append((cost, right, spec))
    return out


# -- pre-routing (no answer text) -------------------------------------------------------------


def evaluate_prerouter(
    rows: Sequence[ReplayRow], config: Mapping[str, Any], router: PreRouter | None = None
) -> dict[str, Any]:
    """Route each row to the tier ``router`` (else the config's ``pre_router``) picks from the
    prompt alone; cost and quality of the picked model's recorded answer, and the baselines."""
    from tokenomy.routing._config import pre_router_from_config

    tiers = _tiers(config)
    router = router or pre_router_from_config(config.get("pre_router"))
    if router is None:
        raise ConfigurationError("the config has no pre_router (run calibrate with --pre-route)")
    cost, right, started = Decimal(0), 0, 0
    for row in rows:
        index = max(0, min(len(tiers) - 1, router.start_for(row.prompt)))
        tier = tiers[index]
        started += index > 0
        cost += _call_cost(row, tier)
        right += row.correct[tier.key]
    base = _baselines(rows, tiers)
    for name in base:
        _relative(base[name], base["always_strong"])
    result = _summary(cost, right, len(rows), escalation_rate=round(started / max(len(rows), 1), 4))
    return {"rows": len(rows), "pre_router": _relative(result, base["always_strong"]), **base}


def _route_quality(
    rows: Sequence[ReplayRow], tiers: Sequence[_Tier], strong: Callable[[ReplayRow], bool]
) -> tuple[Decimal, int]:
    cost, right = Decimal(0), 0
    for row in rows:
        tier = tiers[-1] if strong(row) else tiers[0]
        cost += _call_cost(row, tier)
        right += row.correct[tier.key]
    return cost, right


def _starts_strong(router: PreRouter) -> Callable[[ReplayRow], bool]:
    def strong(row: ReplayRow) -> bool:
        return router.start_for(row.prompt) > 0

    return strong


def _below(probs: Mapping[int, float], threshold: float) -> Callable[[ReplayRow], bool]:
    def strong(row: ReplayRow) -> bool:
        return probs[id(row)] < threshold

    return strong


def calibrate_prerouter(
    rows: Sequence[ReplayRow],
    *,
    target: float,
    tiers: Sequence[Mapping[str, Any]],
    seed: int = 0,
    margin: float | None = None,
) -> dict[str, Any]:
    """A pre-router config reaching ``target`` x the strongest model's quality on ``rows`` at
    the lowest cost: a length rule, or a :class:`LogisticPreRouter` trained on
    ``rows`` (outcome: the cheap model's answer is as good as the strong one's), its threshold
    chosen on out-of-fold chances (two folds), then fit on all ``rows``. The cheaper of the
    two wins. ``margin`` as for :func:`calibrate`."""
    config: dict[str, Any] = {"tiers": [dict(t) for t in tiers], "gate": None}
    built = _tiers(config)
    cheap, strong_tier = built[0], built[-1]
    goal_share = target * sum(r.correct[strong_tier.key] for r in rows) / max(len(rows), 1)
    if margin is None:
        margin = MARGIN_Z * math.sqrt(goal_share * (1 - goal_share) / max(len(rows), 1))
    goal_share += margin
    options: list[tuple[Decimal, dict[str, Any]]] = []
    for limit in sorted({len(r.prompt) for r in rows})[:: max(1, len(rows) // 200)]:
        rule = RulePreRouter(max_chars=limit)
        cost, right = _route_quality(rows, built, _starts_strong(rule))
        if right >= goal_share * len(rows):
            options.append((cost / len(rows), {"kind": "rules", "max_chars": limit}))
    # out-of-fold chances (two folds) choose the threshold; the model kept is fit on all rows
    def outcome(r: ReplayRow) -> bool:
        return r.correct[cheap.key] or not r.correct[strong_tier.key]

    fold_a, fold_b = split_rows(rows, fraction=0.5, seed=seed)
    probs: dict[int, float] = {}
    for fit_rows, other in ((fold_a, fold_b), (fold_b, fold_a)):
        fold = LogisticPreRouter.fit(
            [r.prompt for r in fit_rows], [outcome(r) for r in fit_rows], buckets=1024
        )
        probs.update({id(r): fold.probability(r.prompt) for r in other})
    model = LogisticPreRouter.fit([r.prompt for r in rows], [outcome(r) for r in rows],
                                  buckets=1024)
    grid = sorted({round(p, 3) for p in probs.values()})
    for threshold in [*grid[:: max(1, len(grid) // 200)], 1.001]:
        cost, right = _route_quality(rows, built, _below(probs, threshold))
        if right >= goal_share * len(rows):
            model.threshold = threshold
            options.append((cost / len(rows), model.to_config()))
            break
    if not options:
        config["pre_router"] = {"kind": "rules", "max_chars": 1}
    else:
        config["pre_router"] = min(options, key=lambda o: o[0])[1]
    config["calibration"] = {"rows": len(rows), "target": target, "reached": bool(options)}
    return config
