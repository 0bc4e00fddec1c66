"""BM25: relevance of texts to a query from shared words, with no model.

Used to rank chunks (the ``bm25`` retriever of ``tokenomy rag evaluate``), to score chunks that
arrive without a relevance score, and to score sentences for query-aware compression.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from tokenomy.rag._text import words

__all__ = ["bm25_bags", "bm25_scores", "query_terms"]


def bm25_scores(
    query: str, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75
) -> list[float]:
    """The Okapi BM25 score of each of ``texts`` for ``query`` (the texts are the corpus the
    term statistics come from); 0.0 for a text sharing no word with the query."""
    terms = query_terms(query)
    if not texts or not terms:
        return [0.0] * len(texts)
    docs = [Counter(words(t)) for t in texts]
    return bm25_bags(terms, docs, [sum(d.values()) for d in docs], k1=k1, b=b)


def query_terms(query: str) -> set[str]:
    """The query's words that BM25 scores (stopwords left out unless that leaves none)."""
    return set(words(query, drop_stopwords=True)) or set(words(query))


def bm25_bags(
    terms: set[str],
    docs: Sequence[Mapping[str, int]],
    lengths: Sequence[int],
    *,
    k1: float = 1.2,
    b: float = 0.75,
) -> list[float]:
    """BM25 of documents given as word counts (``docs``) and word totals (``lengths``) for
    the query ``terms``; only the query's terms are looked at, so documents analysed once
    (``tokenomy.rag._facts``) are scored for any query cheaply."""
    n = len(docs)
    if not n or not terms:
        return [0.0] * n
    avg = (sum(lengths) / n) or 1.0
    idf: dict[str, float] = {}
    for term in terms:
        df = sum(1 for d in docs if term in d)
        if df:
            idf[term] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
    if not idf:
        return [0.0] * n
    scale = k1 * (1.0 - b)
    slope = k1 * b / avg
    plus = k1 + 1.0
    scores: list[float] = []
    items = list(idf.items())
    for d, length in zip(docs, lengths, strict=True):
        s = 0.0
        for term, weight in items:
            tf = d.get(term)
            if tf:
                s += weight * tf * plus / (tf + scale + slope * length)
        scores.append(s)
    return scores
