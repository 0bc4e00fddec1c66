"""Replay evaluation and calibration: recorded answers through the real cascade code.

A replay set is JSONL, one row per prompt: ``{"id", "prompt", "<key>": {"model", "response",
"correct"}, ...}`` (the format of the shared ``routing/gsm8k-dev.jsonl``; ``mmlu-dev.jsonl``
has no ``response``: pre-routing only). :class:`ReplaySender` answers each tier's call with the
row's recorded answer (usage counted with ``cl100k_base``: no provider call), so
:func:`evaluate_replay` runs every row through a :class:`~tokenomy.Pipeline` holding the
:class:`Cascade` itself and reads cost and quality back from the ledger records. The
baselines (always-cheap, always-strong, the oracle router: the cheap model when it is right)
are computed from the same token counts and prices.

:func:`~tokenomy.routing.calibrate` (``_calibrate.py``) chooses a cascade's gate from such
rows; :func:`calibrate_prerouter` a pre-router for rows without answer text.
"""

from __future__ import annotations

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
from tokenomy.routing._config import cascade_from_config
from tokenomy.routing._prerouter import LogisticPreRouter, PreRouter, RulePreRouter

__all__ = [
    "ReplayRow",
    "ReplaySender",
    "calibrate_prerouter",
    "evaluate_prerouter",
    "evaluate_replay",
    "load_replay",
    "split_rows",
]

_MILLION = Decimal(1_000_000)
#: standard errors of quality added to the pre-router calibration target by default
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
