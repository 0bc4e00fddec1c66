"""Near-duplicate removal: of chunks that say the same thing, keep the most relevant one.

With an embedding on every chunk, two chunks are near-duplicates when their cosine similarity
reaches the threshold; otherwise when their 3-word shingle sets overlap that much (Jaccard),
candidates found through a bottom-k sketch (a MinHash variant) and checked exactly.
Exact duplicates (same text but for case and spacing) are caught first, by a hash, at no cost.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

from tokenomy.rag._embed import unit
from tokenomy.rag._facts import text_facts

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
    if embeddings is not None:
        return _by_embedding(
            texts, embeddings, order, DEFAULT_COSINE if threshold is None else threshold
        )
    return _by_shingles(texts, order, DEFAULT_JACCARD if threshold is None else threshold)


def _exact(texts: Sequence[str], order: Sequence[int]) -> tuple[list[int], set[int]]:
    seen: set[str] = set()
    rest: list[int] = []
    dropped: set[int] = set()
    for i in order:
        key = text_facts(texts[i]).key
        if key in seen:
            dropped.add(i)
        else:
            seen.add(key)
            rest.append(i)
    return rest, dropped


def _by_embedding(
    texts: Sequence[str],
    embeddings: Sequence[Sequence[float]],
    order: Sequence[int],
    limit: float,
) -> set[int]:
    rest, dropped = _exact(texts, order)
    kept: list[tuple[float, ...]] = []
    for i in rest:
        v = unit(embeddings[i])
        if any(sum(map(operator.mul, v, k)) >= limit for k in kept):
            dropped.add(i)
        else:
            kept.append(v)
    return dropped


def _by_shingles(texts: Sequence[str], order: Sequence[int], limit: float) -> set[int]:
    # Candidates come from an index over each kept text's bottom-k sketch (its SKETCH smallest
    # shingle hashes, a MinHash variant): two texts overlapping as much as the limit almost
    # surely share one of them. Each candidate is then checked on the full shingle sets, so a
    # text is compared only with the few kept texts that may repeat it.
    rest, dropped = _exact(texts, order)
    sets: list[frozenset[int]] = []
    postings: dict[int, list[int]] = {}
    # each text's shingles and sketch come from its cached analysis (tokenomy.rag._facts)
    for i in rest:
        facts = text_facts(texts[i])
        s, sketch = facts.shingles, facts.sketch
        if not s:
            continue
        # a kept text is a candidate when it shares two sketch hashes (one for tiny texts):
        # texts at the limit share about SKETCH x limit of them, while a single shared common
        # phrase ("one of the") does not make two texts alike
        need = 2 if len(sketch) >= 6 else 1
        shared: dict[int, int] = {}
        for g in sketch:
            for k in postings.get(g, ()):
                shared[k] = shared.get(k, 0) + 1
        if any(n >= need and _overlaps(s, sets[k], limit) for k, n in shared.items()):
            dropped.add(i)
            continue
        k = len(sets)
        sets.append(s)
        for g in sketch:
            p = postings.get(g)
            if p is None:
                postings[g] = [k]
            else:
                p.append(k)
    return dropped


def _overlaps(a: frozenset[int], b: frozenset[int], limit: float) -> bool:
    """Whether the Jaccard similarity of ``a`` and ``b`` reaches ``limit``."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    # Jaccard <= |small| / |large|: sizes far apart cannot reach the limit, no set walk
    if len(small) < limit * len(large):
        return False
    inter = len(small & large)
    return inter >= limit * (len(a) + len(b) - inter)
