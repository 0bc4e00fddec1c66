"""Threshold calibration on labelled pairs, with the cache's own normalisation, embedding and
guards (``tokenomy cache calibrate`` / ``evaluate``, ``benchmarks/bench_cache.py``).

Rows are JSON lines ``{"a": str, "b": str, "duplicate": bool|0|1}`` (the shared paraphrase
set's format). A pair is a hit when the cosine similarity of the two normalised texts'
embeddings reaches the threshold and (with guards) no guard rejects it: what a stored ``a``
and a lookup ``b`` get at run time.

Calibration picks the lowest threshold whose precision is at least the target with a margin
for the pairs it has not seen: the Wilson lower bound (``z`` standard errors) of the
precision of the hits at or above it must reach the target, so the threshold holds on new
pairs from the same distribution rather than only on those it was fitted on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenomy.cache._guards import DEFAULT_GUARDS, Guard, check_guards
from tokenomy.cache._normalize import normalize_text
from tokenomy.exceptions import ConfigurationError
from tokenomy.rag._embed import Embedder

__all__ = [
    "Pair",
    "PairScores",
    "ThresholdPoint",
    "calibrate",
    "evaluate",
    "read_pairs",
    "score_pairs",
]


@dataclass(frozen=True, slots=True)
class Pair:
    """One labelled pair."""

    a: str
    b: str
    duplicate: bool


def read_pairs(path: str | Path, *, limit: int | None = None) -> list[Pair]:
    """The pairs of a JSONL file; a malformed row raises ``ConfigurationError`` naming it."""
    pairs: list[Pair] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                pairs.append(Pair(str(row["a"]), str(row["b"]), bool(int(row["duplicate"]))))
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigurationError(
                    f"{path}:{n}: expected a JSON object with a, b and duplicate ({exc})"
                ) from exc
            if limit is not None and len(pairs) >= limit:
                break
    return pairs


@dataclass(frozen=True, slots=True)
class PairScores:
    """Each pair's similarity, label and the guard that rejects it (``None``: none)."""

    similarity: tuple[float, ...]
    duplicate: tuple[bool, ...]
    rejected_by: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.similarity)

    def subset(self, indices: Iterable[int]) -> PairScores:
        idx = list(indices)
        return PairScores(
            tuple(self.similarity[i] for i in idx),
            tuple(self.duplicate[i] for i in idx),
            tuple(self.rejected_by[i] for i in idx),
        )


def score_pairs(
    pairs: Sequence[Pair],
    embedder: Embedder,
    *,
    guards: Sequence[Guard] = DEFAULT_GUARDS,
    batch: int = 256,
) -> PairScores:
    """Embed both sides of every pair (normalised, in batches) and score them."""
    import numpy as np

    from tokenomy.cache._index import as_vector, to_bytes

    a = [normalize_text(p.a) for p in pairs]
    b = [normalize_text(p.b) for p in pairs]
    sims: list[float] = []
    for i in range(0, len(pairs), batch):
        va = embedder.embed(a[i : i + batch])
        vb = embedder.embed(b[i : i + batch])
        for x, y in zip(va, vb, strict=True):
            sims.append(float(np.dot(as_vector(to_bytes(x)), as_vector(to_bytes(y)))))
    rejected = tuple(check_guards(guards, x, y) for x, y in zip(a, b, strict=True))
    return PairScores(tuple(sims), tuple(p.duplicate for p in pairs), rejected)


@dataclass(frozen=True, slots=True)
class ThresholdPoint:
    """Hits at one threshold: precision, recall and counts."""

    threshold: float
    hits: int
    true_hits: int
    duplicates: int

    @property
    def precision(self) -> float:
        return self.true_hits / self.hits if self.hits else 1.0

    @property
    def recall(self) -> float:
        return self.true_hits / self.duplicates if self.duplicates else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": round(self.threshold, 6),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "hits": self.hits,
            "true_hits": self.true_hits,
            "false_hits": self.hits - self.true_hits,
            "duplicates": self.duplicates,
        }


def evaluate(scores: PairScores, threshold: float, *, guards: bool = True) -> ThresholdPoint:
    """Precision and recall of the hits at ``threshold`` (guards applied unless told not)."""
    hits = true = 0
    for sim, dup, rej in zip(scores.similarity, scores.duplicate, scores.rejected_by, strict=True):
        if sim >= threshold and (not guards or rej is None):
            hits += 1
            true += dup
    return ThresholdPoint(threshold, hits, true, sum(scores.duplicate))


def curve(scores: PairScores, *, guards: bool = True) -> list[ThresholdPoint]:
    """The precision/recall point at every distinct similarity, highest threshold first."""
    total = sum(scores.duplicate)
    order = sorted(
        (
            (s, d)
            for s, d, r in zip(scores.similarity, scores.duplicate, scores.rejected_by, strict=True)
            if not guards or r is None
        ),
        key=lambda t: -t[0],
    )
    points: list[ThresholdPoint] = []
    true = 0
    for i, (sim, dup) in enumerate(order):
        true += dup
        if i + 1 == len(order) or order[i + 1][0] < sim:
            points.append(ThresholdPoint(sim, i + 1, true, total))
    return points


def wilson_lower(true: int, n: int, z: float) -> float:
    """The Wilson score interval's lower bound of a proportion ``true/n``."""
    if n == 0:
        return 0.0
    p = true / n
    d = 1 + z * z / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - margin) / d


def calibrate(
    scores: PairScores, target_precision: float, *, guards: bool = True, z: float = 1.5
) -> tuple[ThresholdPoint | None, list[ThresholdPoint]]:
    """``(chosen point, curve)``: the lowest threshold whose hits' precision has a Wilson
    lower bound (``z``) at or above ``target_precision`` (``None`` when no threshold
    reaches it), and the whole curve."""
    if not 0.0 < target_precision <= 1.0:
        raise ConfigurationError(
            f"target precision must be in (0, 1], got {target_precision!r}"
        )
    points = curve(scores, guards=guards)
    chosen: ThresholdPoint | None = None
    for p in points:
        if wilson_lower(p.true_hits, p.hits, z) >= target_precision:
            chosen = p
    return chosen, points


def summary_curve(points: Sequence[ThresholdPoint], steps: int = 20) -> list[ThresholdPoint]:
    """About ``steps`` points of ``points`` spread over recall (for printing)."""
    if len(points) <= steps:
        return list(points)
    every = max(1, len(points) // steps)
    out = list(points[::every])
    if out[-1] is not points[-1]:
        out.append(points[-1])
    return out
