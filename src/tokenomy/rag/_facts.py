"""What the budgeter learns from a chunk's text once, shared by every query that retrieves it.

A RAG corpus is fixed while queries come and go, so the same chunks are retrieved again and
again: their sentences, the words of each sentence (for BM25 scoring of sentences), their
shingles (for near-duplicate removal) and their token counts do not depend on the query. They
are worked out once per distinct text and kept in bounded process-wide caches (least recently
used out first), so budgeting a query's chunks mostly costs the query-dependent part: scoring,
deduplicating, packing. A text seen for the first time is analysed in one pass (its words found
once per sentence; its shingles built from the same words).

The caches are thread-safe (``functools.lru_cache``) and hold no model: token counts are keyed
by the encoding's name, the rest by the text alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tokenomy.rag._text import STOPWORDS, raw_words, split_sentences

__all__ = [
    "PREFIX",
    "SKETCH",
    "TextFacts",
    "count_tokens",
    "piece_tokens",
    "sentence_terms",
    "text_facts",
]

#: Distinct texts whose analysis is kept (a few KB each).
FACTS_CACHE = 20_000
#: Distinct (encoding, text) token counts kept.
COUNT_CACHE = 100_000
#: Sentence words are matched on their first PREFIX characters (a crude stem that also joins
#: "defeated"/"defeat", "population"/"populous"). Fit on 1,500 SQuAD questions kept out of the
#: benchmark's sample (BM25 ranking, lexical compression): gold retention at 256/512/1,024
#: tokens 0.930/0.962/0.977 with the light stemming of ``words`` before, 0.943/0.971/0.984 with
#: 4 characters (5: 0.943/0.965/0.981; 3: 0.936/0.969/0.981).
PREFIX = 4
#: Shingle hashes per text in the near-duplicate candidate index (bottom-k sketch): two texts
#: at Jaccard 0.6 share about 12 x 0.6 of them; they share fewer than the two that make a
#: candidate (``_dedup``) with a chance of about 3e-4 (binomial estimate), less above 0.6.
SKETCH = 12


@dataclass(frozen=True, slots=True)
class TextFacts:
    """One text's query-independent analysis.

    * ``pieces``: its sentences (joined they give the text back; one piece when it has no
      sentence end);
    * ``bags``/``lengths``: each piece's word counts, words cut to their first ``PREFIX``
      characters, and word total (BM25 documents for sentence scoring);
    * ``shingles``: the hashed 3-word shingles of the whole text (its words when fewer);
    * ``sketch``: the ``SKETCH`` smallest shingle hashes (all of them when fewer);
    * ``key``: the text lower-cased with its spacing normalised (exact duplicates).
    """

    pieces: tuple[str, ...]
    bags: tuple[dict[str, int], ...]
    lengths: tuple[int, ...]
    shingles: frozenset[int]
    sketch: tuple[int, ...]
    key: str


@lru_cache(maxsize=FACTS_CACHE)
def text_facts(text: str) -> TextFacts:
    """The :class:`TextFacts` of ``text`` (cached; do not mutate the answer)."""
    pieces = tuple(split_sentences(text) or [text])
    raws = [raw_words(p) for p in pieces]
    bags = tuple(_bag([w[:PREFIX] for w in ws]) for ws in raws)
    flat = [w for ws in raws for w in ws]
    if len(flat) < 3:
        grams = frozenset(hash(w) for w in flat)
    else:
        grams = frozenset(map(hash, zip(flat, flat[1:], flat[2:], strict=False)))
    sketch = tuple(grams) if len(grams) <= SKETCH else tuple(sorted(grams)[:SKETCH])
    return TextFacts(
        pieces=pieces,
        bags=bags,
        lengths=tuple(sum(b.values()) for b in bags),
        shingles=grams,
        sketch=sketch,
        key=" ".join(text.lower().split()),
    )


def sentence_terms(query: str) -> set[str]:
    """The query's words as sentence bags hold them (cut to ``PREFIX`` characters),
    stopwords left out unless that leaves none."""
    found = raw_words(query)
    kept = [w for w in found if w not in STOPWORDS] or found
    return {w[:PREFIX] for w in kept}


def _bag(found: list[str]) -> dict[str, int]:
    # a plain dict: Counter(iterable) pays an ABC isinstance check per call
    bag: dict[str, int] = {}
    get = bag.get
    for w in found:
        bag[w] = get(w, 0) + 1
    return bag


_ENCODINGS: dict[str, Any] = {}


def count_tokens(encoding: Any, text: str) -> int:
    """Tokens of ``text`` in ``encoding`` (a tiktoken ``Encoding``), cached by the encoding's
    name and the text."""
    if not text:
        return 0
    _ENCODINGS.setdefault(encoding.name, encoding)
    return _count(encoding.name, text)


@lru_cache(maxsize=COUNT_CACHE)
def _count(name: str, text: str) -> int:
    return len(_ENCODINGS[name].encode(text, disallowed_special=()))


def piece_tokens(encoding: Any, pieces: tuple[str, ...]) -> tuple[int, ...]:
    """Estimated tokens of each piece of one text: the joined text's exact count shared out
    by length (one encoding instead of one per piece; whoever joins pieces counts the result
    exactly); cached like :func:`count_tokens`."""
    _ENCODINGS.setdefault(encoding.name, encoding)
    return _shares(encoding.name, pieces)


@lru_cache(maxsize=FACTS_CACHE)
def _shares(name: str, pieces: tuple[str, ...]) -> tuple[int, ...]:
    text = "".join(pieces)
    total = _count(name, text) if text else 0
    size = len(text) or 1
    return tuple(max(1, round(total * len(p) / size)) if p.strip() else 0 for p in pieces)
