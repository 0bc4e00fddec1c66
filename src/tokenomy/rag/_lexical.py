"""BM25: relevance of texts to a query from shared words, with no model.

Used to rank chunks (the ``bm25`` retriever of ``tokenomy rag evaluate``), to score chunks that
arrive without a relevance score, and to score sentences for query-aware compression.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from tokenomy.rag._text import words

__all__ = ["bm25_scores"]


def bm25_scores(
    query: str, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75
) -> list[float]:
    """The Okapi BM25 score of each of ``texts`` for ``query`` (the texts are the corpus the
    term statistics come from); 0.0 for a text sharing no word with the query."""
    terms = set(words(query, drop_stopwords=True)) or set(words(query))
    if not texts or not terms:
        return [0.0] * len(texts)
    docs = [Counter(words(t)) for t in texts]
    lengths = [sum(d.values()) for d in docs]
    avg = (sum(lengths) / len(lengths)) or 1.0
    n = len(docs)
    idf: dict[str, float] = {}
    for term in terms:
        df = sum(1 for d in docs if term in d)
        if df:
            idf[term] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
    scores: list[float] = []
    for d, length in zip(docs, lengths, strict=True):
        norm = k1 * (1.0 - b + b * length / avg)
        s = 0.0
        for term, weight in idf.items():
            tf = d.get(term)
            if tf:
                s += weight * tf * (k1 + 1.0) / (tf + norm)
        scores.append(s)
    return scores
