"""Near-duplicate removal: of chunks that say the same thing, keep the most relevant one.

With an embedding on every chunk, two chunks are near-duplicates when their cosine similarity
reaches the threshold; otherwise when their 3-word shingle sets overlap that much (Jaccard).
Exact duplicates (same words) are caught first, by a hash, at no cost.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

from tokenomy.rag._embed import unit
from tokenomy.rag._text import shingles, words

__all__ = ["DEFAULT_COSINE", "DEFAULT_JACCARD", "duplicates"]

#: Default thresholds: shingle overlap (Jaccard) and embedding cosine similarity.
DEFAULT_JACCARD = 0.6
DEFAULT_COSINE = 0.95


def duplicates(
    texts: Sequence[str],
    embeddings: Sequence[Sequence[float]] | None,
    order: Sequence[int],
    *,
    threshold: float | None = None,
) -> set[int]:
    """Indices (into ``texts``) of the near-duplicates of an earlier text in ``order`` (best
    first): each such text repeats one that is kept."""
    dropped: set[int] = set()
    seen: set[tuple[str, ...]] = set()
    kept: list[int] = []
    if embeddings is not None:
        vectors = {i: unit(embeddings[i]) for i in order}
        limit = DEFAULT_COSINE if threshold is None else threshold
    else:
        sets: dict[int, frozenset[int]] = {}
        limit = DEFAULT_JACCARD if threshold is None else threshold
    for i in order:
        key = tuple(words(texts[i]))
        if key in seen:
            dropped.add(i)
            continue
        seen.add(key)
        if embeddings is not None:
            v = vectors[i]
            if any(sum(map(operator.mul, v, vectors[j])) >= limit for j in kept):
                dropped.add(i)
                continue
        else:
            s = sets[i] = shingles(texts[i])
            if s and any(_overlaps(s, sets[j], limit) for j in kept):
                dropped.add(i)
                continue
        kept.append(i)
    return dropped


def _overlaps(a: frozenset[int], b: frozenset[int], limit: float) -> bool:
    """Whether the Jaccard similarity of ``a`` and ``b`` reaches ``limit``."""
    if not b:
        return False
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    # Jaccard <= |small| / |large|: sizes far apart cannot reach the limit, no set walk
    if len(small) < limit * len(large):
        return False
    inter = len(small & large)
    return inter >= limit * (len(a) + len(b) - inter)
