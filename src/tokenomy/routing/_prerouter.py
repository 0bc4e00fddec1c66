"""Pre-routing: pick a cascade's first tier from the request alone, before any call.

:class:`PreRouter` is the extension point (``start_tier(request) -> int``). Out of the box:
:class:`RulePreRouter` (keywords and prompt length) and :class:`LogisticPreRouter`, a small
logistic regression (numpy, no GPU) trained on your own logged outcomes: prompts and whether
the cheap model's answer was good enough. Its features are hashed words and bigrams plus
the prompt's length, so it needs no vocabulary file and its weights are plain JSON.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import ConfigurationError

if TYPE_CHECKING:
    from tokenomy.pipeline import ModelRequest

__all__ = ["LogisticPreRouter", "PreRouter", "RulePreRouter"]


def _prompt(request: ModelRequest) -> str:
    from tokenomy.routing._math_gates import prompt_text

    return prompt_text(request)


class PreRouter:
    """Base class: override :meth:`start_tier` (0 = the cheapest tier)."""

    def start_tier(self, request: ModelRequest) -> int:
        """The tier to try first for ``request``."""
        return self.start_for(_prompt(request))

    def start_for(self, prompt: str) -> int:
        """The tier to try first for a prompt text."""
        raise NotImplementedError


class RulePreRouter(PreRouter):
    """Start at ``strong_tier`` when the prompt is over ``max_chars`` characters or holds one of
    ``keywords`` (case-insensitive words or phrases); else at tier 0."""

    def __init__(
        self,
        *,
        max_chars: int | None = None,
        keywords: Sequence[str] = (),
        strong_tier: int = 1,
    ) -> None:
        if max_chars is not None and max_chars < 1:
            raise ConfigurationError(f"RulePreRouter max_chars must be >= 1, got {max_chars!r}")
        self.max_chars = max_chars
        self.keywords = tuple(k.lower() for k in keywords)
        self._pattern = (
            re.compile(r"\b(?:" + "|".join(re.escape(k) for k in self.keywords) + r")\b")
            if self.keywords
            else None
        )
        self.strong_tier = strong_tier

    def start_for(self, prompt: str) -> int:
        if self.max_chars is not None and len(prompt) > self.max_chars:
            return self.strong_tier
        if self._pattern is not None and self._pattern.search(prompt.lower()):
            return self.strong_tier
        return 0

    def __repr__(self) -> str:
        return f"RulePreRouter(max_chars={self.max_chars!r}, keywords={list(self.keywords)!r})"


_WORD = re.compile(r"[a-z0-9]+")


def features(prompt: str, buckets: int) -> dict[int, float]:
    """Hashed word and bigram counts (crc32, stable across processes) plus the log length in
    the last bucket, scaled to unit length."""
    words = _WORD.findall(prompt.lower())
    out: dict[int, float] = {}
    for token in [*words, *(f"{a} {b}" for a, b in pairwise(words))]:
        h = zlib.crc32(token.encode()) % (buckets - 1)
        out[h] = out.get(h, 0.0) + 1.0
    norm = math.sqrt(sum(v * v for v in out.values())) or 1.0
    scaled = {k: v / norm for k, v in out.items()}
    scaled[buckets - 1] = math.log1p(len(prompt)) / 8.0
    return scaled


class LogisticPreRouter(PreRouter):
    """Start at the strong tier when the predicted chance that the cheap model's answer is
    good (:meth:`probability`) is under ``threshold``. Train with :meth:`fit`."""

    def __init__(
        self,
        weights: Sequence[float],
        bias: float,
        *,
        threshold: float = 0.5,
        strong_tier: int = 1,
    ) -> None:
        self.weights = [float(w) for w in weights]
        if len(self.weights) < 2:
            raise ConfigurationError("LogisticPreRouter needs two or more weights")
        self.bias = float(bias)
        self.threshold = threshold
        self.strong_tier = strong_tier

    @classmethod
    def fit(
        cls,
        prompts: Sequence[str],
        cheap_ok: Sequence[bool],
        *,
        buckets: int = 4096,
        l2: float = 1e-3,
        epochs: int = 300,
        rate: float = 0.5,
        threshold: float = 0.5,
    ) -> LogisticPreRouter:
        """Train on logged outcomes (full-batch gradient descent, deterministic)."""
        import numpy as np

        if len(prompts) != len(cheap_ok) or not prompts:
            raise ConfigurationError("LogisticPreRouter.fit needs as many outcomes as prompts (>0)")
        x = np.zeros((len(prompts), buckets))
        for i, prompt in enumerate(prompts):
            for j, v in features(prompt, buckets).items():
                x[i, j] = v
        y = np.asarray([1.0 if ok else 0.0 for ok in cheap_ok])
        w = np.zeros(buckets)
        b = float(np.log((y.mean() + 1e-6) / (1 - y.mean() + 1e-6)))
        for _ in range(epochs):
            p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
            g = p - y
            w -= rate * (x.T @ g / len(y) + l2 * w)
            b -= rate * float(g.mean())
        return cls(w.tolist(), b, threshold=threshold)

    def probability(self, prompt: str) -> float:
        """The predicted chance that the cheap model answers ``prompt`` well."""
        z = self.bias + sum(self.weights[j] * v for j, v in features(prompt, len(self.weights)).items())
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def start_for(self, prompt: str) -> int:
        return self.strong_tier if self.probability(prompt) < self.threshold else 0

    def to_config(self) -> dict[str, Any]:
        """Plain JSON (:meth:`from_config` reads it back)."""
        return {
            "kind": "logistic",
            "weights": self.weights,
            "bias": self.bias,
            "threshold": self.threshold,
            "strong_tier": self.strong_tier,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LogisticPreRouter:
        return cls(
            config["weights"],
            config["bias"],
            threshold=float(config.get("threshold", 0.5)),
            strong_tier=int(config.get("strong_tier", 1)),
        )
