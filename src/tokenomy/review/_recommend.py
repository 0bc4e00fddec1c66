"""Recommendations: what to change, the evidence, and the projected monthly saving, each
computed from the review's facts (never one without its numbers).

Every saving is over the reviewed period, then scaled to a 30-day month
(``saving x 30 / period days``). The rules, each with what it counts:

* ``cheaper_model``: in a feature where two models both have labelled outcomes (``usable``
  marked, or a cascade's ``route_accepted`` verdict) on at least ``min_labelled`` calls each, and
  the cheaper one's usable rate is at most 2 points under the dearer one's: the dearer model's
  calls priced at the cheaper model's rates (its input and output tokens) are the saving.
* ``prompt_cache``: a stable prefix (``prefix_hash``) of at least 1,024 tokens sent ``n`` >= 10
  times by one model with under 10% of its tokens read from the provider's cache: saving
  ``(n - h) x tokens x (input rate - cache-read rate) - h x tokens x (cache-write rate - input
  rate)``, ``h`` the distinct hours it was seen in (one cache write per hour assumed).
* ``max_tokens``: a feature and model with at least 50 calls whose largest outputs are more than
  twice its 95th percentile: ``cap`` = the 95th percentile rounded up to the next multiple of 16
  tokens; saving = the output tokens above ``cap`` x the output rate.
* ``response_cache``: exact repeats (same model and ``request_hash``, cache misses): each group
  of ``n`` calls costing ``c`` would cost ``c / n`` with a cache: saving ``c x (n - 1) / n``.
* ``semantic_cache`` (prompt text opted in): near-duplicate last user messages (word-shingle
  Jaccard >= 0.8, not exact repeats): for each cluster of ``n`` calls costing ``c``, ``c x (n - 1) / n``.
* ``batch``: a feature whose runs of at least 20 calls are never streamed (bulk work that can
  wait): half their cost (the OpenAI and Anthropic batch APIs bill 50%).
* ``memory_window``: chat calls with at least 6 messages whose input (less the stable prefix) is
  over a 4,000-token window: the tokens above it x the input rate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.review._facts import Facts, TagKey

if TYPE_CHECKING:
    from tokenomy.pricing import PriceBook

__all__ = ["Recommendation", "recommend"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One change to make: its kind, what to do, the evidence (numbers), the saving over the
    reviewed period and projected to a month."""

    kind: str
    title: str
    evidence: dict[str, Any] = field(default_factory=dict)
    period_saving: Decimal = _ZERO
    monthly_saving: Decimal = _ZERO

    def to_json_dict(self) -> dict[str, Any]:
        from tokenomy.ledger._aggregate import decimal_text

        return {
            "kind": self.kind,
            "title": self.title,
            "evidence": {
                k: decimal_text(v) if isinstance(v, Decimal) else v for k, v in self.evidence.items()
            },
            "period_saving_usd": decimal_text(self.period_saving),
            "monthly_saving_usd": decimal_text(self.monthly_saving),
        }


def _monthly(saving: Decimal, days: float) -> Decimal:
    return (saving * Decimal(30) / Decimal(str(days))).quantize(Decimal("0.000001"))


def recommend(facts: Facts, book: PriceBook, days: float, *, min_labelled: int = 20) -> list[Recommendation]:
    """The recommendations of ``facts`` (a period of ``days`` days), largest saving first."""
    out: list[Recommendation] = []
    out += _cheaper_model(facts, book, min_labelled)
    out += _prompt_cache(facts, book)
    out += _max_tokens(facts, book)
    out += _response_cache(facts)
    out += _semantic_cache(facts)
    out += _batch(facts)
    out += _memory_window(facts, book)
    out = [
        Recommendation(r.kind, r.title, r.evidence, r.period_saving, _monthly(r.period_saving, days))
        for r in out
        if r.period_saving > 0
    ]
    out.sort(key=lambda r: (-r.monthly_saving, r.kind, r.title))
    return out


def _rate(book: PriceBook, model: str, provider: str | None, part: str) -> Decimal | None:
    price = book.lookup(model, provider)
    if price is None:
        return None
    value: Decimal | None = getattr(price, part)
    return value


# -- the rules ----------------------------------------------------------------------------


def _cheaper_model(facts: Facts, book: PriceBook, min_labelled: int) -> list[Recommendation]:
    # per (feature, model, provider): labelled, usable, calls, cost, input, output
    stats: dict[tuple[str, str, str | None], list[Any]] = {}
    for (model, provider, key, _b), v in facts.groups.items():
        feature = key[0]
        if feature is None:
            continue
        s = stats.setdefault((feature, model, provider), [0, 0, 0, _ZERO, 0, 0])
        s[0] += v[8]
        s[1] += v[9]
        s[2] += v[0]
        s[3] += v[1]
        s[4] += v[12]
        s[5] += v[13]
    # cascade verdicts count as labels of the tier's model
    for (model, provider, key, _b), v in facts.groups.items():
        feature, accepted = key[0], key[4]
        if feature is None or accepted not in ("true", "false") or v[8]:
            continue
        s = stats[(feature, model, provider)]
        s[0] += v[0]
        s[1] += v[0] if accepted == "true" else 0
    out = []
    features = sorted({f for f, _, _ in stats})
    for feature in features:
        rows = [(k, s) for k, s in stats.items() if k[0] == feature and s[0] >= min_labelled]
        for (_, dear, _dear_p), ds in rows:
            best: tuple[Decimal, str, str | None, list[Any]] | None = None
            for (_, cheap, cheap_p), cs in rows:
                if cheap == dear:
                    continue
                rate_in = _rate(book, cheap, cheap_p, "input")
                rate_out = _rate(book, cheap, cheap_p, "output")
                if rate_in is None or rate_out is None:
                    continue
                if cs[1] / cs[0] < ds[1] / ds[0] - 0.02:
                    continue
                moved = rate_in * ds[4] + rate_out * ds[5]
                saving = ds[3] - moved
                if saving > 0 and (best is None or saving > best[0]):
                    best = (saving, cheap, cheap_p, cs)
            if best is None:
                continue
            saving, cheap, _cp, cs = best
            out.append(
                Recommendation(
                    "cheaper_model",
                    f"Move feature {feature!r} from {dear} to {cheap}",
                    {
                        "feature": feature,
                        "model": dear,
                        "cheaper_model": cheap,
                        "calls": ds[2],
                        "cost_usd": ds[3],
                        "usable_rate": round(ds[1] / ds[0], 4),
                        "cheaper_usable_rate": round(cs[1] / cs[0], 4),
                        "labelled": ds[0],
                        "cheaper_labelled": cs[0],
                        "input_tokens": ds[4],
                        "output_tokens": ds[5],
                    },
                    saving,
                )
            )
    return out


def _prompt_cache(facts: Facts, book: PriceBook) -> list[Recommendation]:
    out = []
    for (model, provider, prefix), (n, tokens, hours, cache_read, _inp) in sorted(
        facts.prefixes.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), kv[0][2])
    ):
        if tokens is None or tokens < 1024 or n < 10 or cache_read * 10 >= tokens * n:
            continue
        price = book.lookup(model, provider)
        if price is None:
            continue
        read = price.cache_read if price.cache_read is not None else price.input
        write = price.cache_write_5m if price.cache_write_5m is not None else price.input
        saving = (n - hours) * tokens * (price.input - read) - hours * tokens * max(
            _ZERO, write - price.input
        )
        out.append(
            Recommendation(
                "prompt_cache",
                f"Cache the {tokens}-token prompt prefix {prefix[:8]} on {model}",
                {
                    "model": model,
                    "prefix_hash": prefix,
                    "prefix_tokens": tokens,
                    "calls": n,
                    "hours_seen": hours,
                    "cache_read_tokens": cache_read,
                    "input_rate_usd": price.input,
                    "cache_read_rate_usd": read,
                    "cache_write_rate_usd": write,
                },
                saving,
            )
        )
    return out


def _max_tokens(facts: Facts, book: PriceBook) -> list[Recommendation]:
    # per (feature, model, provider): output bucket -> [calls, output tokens]
    hist: dict[tuple[str, str, str | None], dict[int, list[int]]] = {}
    for (model, provider, key, bucket), v in facts.groups.items():
        if key[0] is None:
            continue
        slot = hist.setdefault((key[0], model, provider), {}).setdefault(bucket, [0, 0])
        slot[0] += v[0]
        slot[1] += v[13]
    out = []
    for (feature, model, provider), buckets in sorted(hist.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2]))):
        calls = sum(c for c, _ in buckets.values())
        if calls < 50:
            continue
        rank = math.ceil(0.95 * calls)
        seen = 0
        p95_bucket = max(buckets)
        for b in sorted(buckets):
            seen += buckets[b][0]
            if seen >= rank:
                p95_bucket = b
                break
        cap = (p95_bucket + 1) * 16
        top = max(buckets)
        if top * 16 <= 2 * cap:
            continue
        above = [(b, c, t) for b, (c, t) in buckets.items() if b > p95_bucket]
        tail = sum(t - c * cap for _, c, t in above)
        rate = _rate(book, model, provider, "output")
        if rate is None or tail <= 0:
            continue
        out.append(
            Recommendation(
                "max_tokens",
                f"Set max_tokens={cap} for feature {feature!r} on {model}",
                {
                    "feature": feature,
                    "model": model,
                    "calls": calls,
                    "p95_output_cap": cap,
                    "calls_over_cap": sum(c for _, c, _ in above),
                    "output_tokens_over_cap": tail,
                    "output_rate_usd": rate,
                },
                rate * tail,
            )
        )
    return out


def _response_cache(facts: Facts) -> list[Recommendation]:
    by_model: dict[str, list[Any]] = {}
    for (model, _provider, n), (hashes, cost) in facts.repeats.items():
        slot = by_model.setdefault(model, [0, 0, _ZERO, _ZERO])
        slot[0] += hashes
        slot[1] += hashes * n
        slot[2] += cost
        slot[3] += cost * (n - 1) / n
    return [
        Recommendation(
            "response_cache",
            f"Cache responses of exact repeats on {model}",
            {
                "model": model,
                "repeated_requests": groups,
                "calls": calls,
                "cost_usd": cost,
                "calls_a_cache_would_serve": calls - groups,
            },
            saving,
        )
        for model, (groups, calls, cost, saving) in sorted(by_model.items())
    ]


_WORD = re.compile(r"\w+")


def _shingles(text: str) -> frozenset[str]:
    words = _WORD.findall(text.lower())
    if len(words) < 3:
        return frozenset(words)
    return frozenset(" ".join(words[i : i + 3]) for i in range(len(words) - 2))


def _semantic_cache(facts: Facts, threshold: float = 0.8) -> list[Recommendation]:
    if not facts.texts:
        return []
    # clusters: each text joins the first earlier representative it is near (same model)
    reps: dict[str, list[tuple[frozenset[str], list[Any]]]] = {}
    index: dict[tuple[str, str], list[int]] = {}
    for model, _provider, text, cost in facts.texts:
        sh = _shingles(text)
        model_reps = reps.setdefault(model, [])
        found = None
        same = False
        candidates: set[int] = set()
        for s in sh:
            candidates.update(index.get((model, s), ()))
        for i in sorted(candidates):
            rep_sh, slot = model_reps[i]
            if sh == rep_sh:
                same = True  # an exact repeat: the response cache's, not counted here
                break
            union = len(sh | rep_sh)
            if union and len(sh & rep_sh) / union >= threshold:
                found = slot
                break
        if same:
            continue
        if found is None:
            model_reps.append((sh, [1, cost]))
            for s in sh:
                index.setdefault((model, s), []).append(len(model_reps) - 1)
        else:
            found[0] += 1
            found[1] += cost
    out = []
    for model, model_reps in sorted(reps.items()):
        clusters = [slot for _, slot in model_reps if slot[0] > 1]
        if not clusters:
            continue
        saving = sum((c * (n - 1) / n for n, c in clusters), _ZERO)
        out.append(
            Recommendation(
                "semantic_cache",
                f"A semantic cache for near-duplicate prompts on {model}",
                {
                    "model": model,
                    "clusters": len(clusters),
                    "calls": sum(n for n, _ in clusters),
                    "cost_usd": sum((c for _, c in clusters), _ZERO),
                    "similarity": threshold,
                },
                saving,
            )
        )
    return out


def _batch(facts: Facts) -> list[Recommendation]:
    per: dict[str, list[Any]] = {}
    streamed_features: set[str] = set()
    for (key, n), (runs, cost, streamed) in facts.run_sizes.items():
        feature = key[0]
        if feature is None:
            continue
        if streamed:
            streamed_features.add(feature)
        if n >= 20:
            slot = per.setdefault(feature, [0, 0, _ZERO])
            slot[0] += runs
            slot[1] += runs * n
            slot[2] += cost
    out = []
    for feature, (runs, calls, cost) in sorted(per.items()):
        if feature in streamed_features:
            continue
        out.append(
            Recommendation(
                "batch",
                f"Send feature {feature!r} bulk runs through a batch API",
                {
                    "feature": feature,
                    "bulk_runs": runs,
                    "calls": calls,
                    "cost_usd": cost,
                    "batch_discount": "0.5",
                },
                cost / 2,
            )
        )
    return out


def _memory_window(facts: Facts, book: PriceBook) -> list[Recommendation]:
    per: dict[tuple[str, str | None], int] = {}
    for (model, provider, _key, _b), v in facts.groups.items():
        if v[16]:
            per[(model, provider)] = per.get((model, provider), 0) + v[16]
    out = []
    for (model, provider), tokens in sorted(per.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        rate = _rate(book, model, provider, "input")
        if rate is None:
            continue
        out.append(
            Recommendation(
                "memory_window",
                f"Window the conversation history sent to {model}",
                {"model": model, "history_tokens_over_window": tokens, "input_rate_usd": rate},
                rate * tokens,
            )
        )
    return out


def feature_of(key: TagKey) -> str | None:
    """The feature tag of a facts key."""
    return key[0]
