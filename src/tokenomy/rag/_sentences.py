"""Sentence-level work on a chunk: score its sentences for the query, keep the best ones.

Two uses: trimming a chunk that does not fit into the room left (keep its best sentences that
fit, never without the best one) and query-aware compression (keep only the sentences scoring
close to the chunk's best). Sentences are scored lexically (BM25 over the sentences of every
candidate chunk, so rare query words weigh more) or, given an embedder, by cosine similarity
to the query.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tokenomy.rag._embed import Embedder, unit
from tokenomy.rag._lexical import bm25_scores
from tokenomy.rag._text import split_sentences

__all__ = ["SentenceView", "compress", "fit", "sentence_views"]


@dataclass(slots=True)
class SentenceView:
    """One chunk as sentences: the pieces (joined they give the text back), a relevance score
    and a token count for each."""

    pieces: list[str]
    scores: list[float]
    tokens: list[int]

    def best(self) -> int:
        """Index of the best-scoring sentence (the first among equals)."""
        return max(range(len(self.scores)), key=lambda j: (self.scores[j], -j))

    def text(self, chosen: Sequence[int]) -> str:
        """The chosen sentences in their original order, as one text."""
        return "".join(self.pieces[j] for j in sorted(chosen)).strip()

    def subset(self, chosen: Sequence[int]) -> SentenceView:
        """The view of the chosen sentences only (in their original order)."""
        keep = sorted(chosen)
        return SentenceView(
            [self.pieces[j] for j in keep],
            [self.scores[j] for j in keep],
            [self.tokens[j] for j in keep],
        )


def sentence_views(
    query: str,
    texts: Sequence[str],
    count: Callable[[str], int],
    *,
    embedder: Embedder | None = None,
) -> list[SentenceView]:
    """A :class:`SentenceView` of each of ``texts``, scored together for ``query``."""
    split = [split_sentences(t) or [t] for t in texts]
    flat = [p for pieces in split for p in pieces]
    if embedder is not None and flat:
        vectors = embedder.embed([query, *flat])
        q = unit(vectors[0])
        scores = [sum(map(operator.mul, q, unit(v))) for v in vectors[1:]]
    else:
        scores = bm25_scores(query, flat)
    views: list[SentenceView] = []
    at = 0
    for pieces in split:
        n = len(pieces)
        views.append(SentenceView(pieces, scores[at : at + n], [count(p) for p in pieces]))
        at += n
    return views


def fit(view: SentenceView, room: int, count: Callable[[str], int]) -> tuple[str, int] | None:
    """The chunk cut at sentence boundaries to at most ``room`` tokens, keeping its best
    sentence and then the next best that fit: ``(text, tokens)``, or ``None`` when even the
    best sentence does not fit."""
    best = view.best()
    if view.tokens[best] > room:
        return None
    chosen = [best]
    used = view.tokens[best]
    for j in sorted(range(len(view.pieces)), key=lambda j: (-view.scores[j], j)):
        if j != best and used + view.tokens[j] <= room:
            chosen.append(j)
            used += view.tokens[j]
    return _settle(view, chosen, room, count)


def compress(view: SentenceView, keep: float, max_sentences: int) -> list[int]:
    """The chunk's query-relevant sentences: the best one, and those scoring at least ``keep``
    times the best (and above zero), at most ``max_sentences`` of them, best first."""
    best = view.best()
    top = view.scores[best]
    ranked = sorted(range(len(view.pieces)), key=lambda j: (-view.scores[j], j))
    chosen = [j for j in ranked if j == best or (top > 0 and view.scores[j] >= keep * top)]
    return chosen[: max(1, max_sentences)]


def _settle(
    view: SentenceView, chosen: list[int], room: int, count: Callable[[str], int]
) -> tuple[str, int] | None:
    # Sentence counts are per piece; joined text can differ by a token or two at the seams:
    # drop the weakest chosen sentence until the joined text fits.
    while chosen:
        text = view.text(chosen)
        tokens = count(text)
        if tokens <= room:
            return text, tokens
        if len(chosen) == 1:
            return None
        chosen.pop()  # chosen is best first, so the last is the weakest
    return None
