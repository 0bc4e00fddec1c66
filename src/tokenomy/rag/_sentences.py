"""Sentence-level work on a chunk: score its sentences for the query, keep the best ones.

Two uses: trimming a chunk that does not fit into the room left (keep its best sentences that
fit, never without the best one) and query-aware compression (keep the most relevant sentences
of all the chunks, weighing each chunk's own relevance in). Sentences are scored lexically (BM25 over the sentences of every
candidate chunk, so rare query words weigh more) or, given an embedder, by cosine similarity
to the query.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tokenomy.rag._embed import Embedder, norm, unit
from tokenomy.rag._facts import sentence_terms, text_facts
from tokenomy.rag._lexical import bm25_bags

__all__ = ["SentenceView", "fit", "pick_sentences", "sentence_views"]


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


def sentence_views(
    query: str,
    texts: Sequence[str],
    tokens: Callable[[Sequence[str]], list[int]],
    *,
    embedder: Embedder | None = None,
    lexical: float = 0.0,
) -> list[SentenceView]:
    """A :class:`SentenceView` of each of ``texts``, scored together for ``query``;
    ``tokens`` counts the tokens of each piece of one text.

    Sentences are scored by BM25 without ``embedder``, by cosine similarity to the query with
    it; with both an embedder and ``lexical`` > 0 (hybrid), a sentence's score is its cosine
    relative to the best sentence's plus ``lexical`` times its BM25 relative to the best."""
    facts = [text_facts(t) for t in texts]
    split = [list(f.pieces) for f in facts]
    scores: list[float] = []
    if embedder is not None:
        flat = [p for pieces in split for p in pieces]
        vectors = embedder.embed([query, *flat])
        q = unit(vectors[0])
        # cosine as q . v / |v|: no unit copy of each sentence vector (most of the time here)
        scores = [
            sum(map(operator.mul, q, v)) / n if (n := norm(v)) else 0.0 for v in vectors[1:]
        ]
    if embedder is None or lexical > 0:
        lex = bm25_bags(
            sentence_terms(query),
            [bag for f in facts for bag in f.bags],
            [n for f in facts for n in f.lengths],
        )
        scores = lex if embedder is None else _mixed(scores, lex, lexical)
    views: list[SentenceView] = []
    at = 0
    for pieces in split:
        n = len(pieces)
        views.append(SentenceView(pieces, scores[at : at + n], tokens(pieces)))
        at += n
    return views


def _mixed(cosines: list[float], lex: list[float], lexical: float) -> list[float]:
    # each signal relative to its best sentence (negative cosines count as 0), then summed
    top_c = max((max(0.0, c) for c in cosines), default=0.0) or 1.0
    top_l = max(lex, default=0.0) or 1.0
    return [max(0.0, c) / top_c + lexical * x / top_l for c, x in zip(cosines, lex, strict=True)]


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


def pick_sentences(
    views: Sequence[SentenceView],
    chunk_values: Sequence[float],
    room: int,
    *,
    weight: float,
    neighbour: float = 0.0,
) -> list[list[int]]:
    """Query-aware compression across chunks: the sentences to keep from each view, at most
    ``room`` tokens (estimated) in all. A sentence's value is its score relative to the best
    sentence anywhere, plus ``neighbour`` times that of the better of its two neighbours, plus
    ``weight`` times its chunk's relevance (0-1 in ``chunk_values``); the most valuable
    sentences are taken first, any that fit."""
    top = max((max(v.scores) for v in views if v.scores), default=0.0)
    scale = top if top > 0 else 1.0
    units = []
    for vi, view in enumerate(views):
        rel = [max(0.0, x) / scale for x in view.scores]
        values = []
        for j, r in enumerate(rel):
            # a sentence next to a relevant one often carries its subject or its answer
            near = max(rel[j - 1] if j > 0 else 0.0, rel[j + 1] if j + 1 < len(rel) else 0.0)
            values.append(r + neighbour * near + weight * chunk_values[vi])
        for j, value in enumerate(values):
            if view.tokens[j] > 0:
                units.append((-value, vi, j))
    units.sort()
    chosen: list[list[int]] = [[] for _ in views]
    used = 0
    for _, vi, j in units:
        n = views[vi].tokens[j]
        if used + n <= room:
            chosen[vi].append(j)
            used += n
    return chosen


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
