"""What the budgeter learns from a chunk's text once, shared by every query that retrieves it.

A RAG corpus is fixed while queries come and go, so the same chunks are retrieved again and
again: their sentences, the words of each sentence (for BM25 scoring of sentences), their
shingles (for near-duplicate removal) and their token counts do not depend on the query. They
are worked out once per distinct text and kept in bounded process-wide caches (least recently
used out first), so budgeting a query's chunks mostly costs the query-dependent part: scoring,
deduplicating, packing.

A text seen for the first time ("cold") is analysed in one pass (:func:`text_facts`: its
sentences, one regex scan of each for its words, bags and shingles built from those words)
and counted by the tokenizer once, together with every other uncounted text of the query
(:func:`count_many`).

The caches are thread-safe (``functools.lru_cache``; the token count cache is a dict whose
single operations the GIL makes atomic) and hold no model: token counts are keyed by the
encoding's name, the rest by the text alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from heapq import nsmallest
from itertools import chain
from typing import Any

from tokenomy.rag._text import STOPWORDS, raw_words, raw_words_each, split_sentences

__all__ = [
    "PREFIX",
    "SKETCH",
    "TextFacts",
    "count_many",
    "count_tokens",
    "forget",
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
    """The :class:`TextFacts` of ``text`` (cached; do not mutate the answer). One pass: the
    sentences, one C-level regex scan of each for its words (``_text.raw_words_each``; CJK
    text takes the slower path that pairs CJK characters), the bags and shingles from those."""
    pieces = tuple(split_sentences(text) or [text])
    raws = raw_words_each(text, pieces)
    bags = tuple(Counter([w[:PREFIX] for w in ws]) for ws in raws)
    flat = raws[0] if len(raws) == 1 else list(chain.from_iterable(raws))
    if len(flat) < 3:
        grams = frozenset(map(hash, flat))
    else:
        grams = frozenset(map(hash, zip(flat, flat[1:], flat[2:], strict=False)))
    sketch = tuple(grams) if len(grams) <= SKETCH else tuple(nsmallest(SKETCH, grams))
    return TextFacts(
        pieces=pieces,
        bags=bags,
        lengths=tuple(map(len, raws)),
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


_ENCODINGS: dict[str, Any] = {}
_COUNTS: dict[tuple[str, str], int] = {}


def _remember(key: tuple[str, str], n: int) -> None:
    if len(_COUNTS) >= COUNT_CACHE:
        # the oldest entry out (insertion order); another thread may have taken it
        with suppress(KeyError, RuntimeError, StopIteration):
            del _COUNTS[next(iter(_COUNTS))]
    _COUNTS[key] = n


def count_tokens(encoding: Any, text: str) -> int:
    """Tokens of ``text`` in ``encoding`` (a tiktoken ``Encoding``; special-token strings
    count as plain text), cached by the encoding's name and the text."""
    if not text:
        return 0
    key = (encoding.name, text)
    n = _COUNTS.get(key)
    if n is None:
        n = len(encoding.encode_ordinary(text))
        _remember(key, n)
    return n


def count_many(encoding: Any, texts: Sequence[str]) -> list[int]:
    """Tokens of each of ``texts``, as :func:`count_tokens`: the cached ones looked up, the
    others encoded in one pass over the distinct uncached texts."""
    name = encoding.name
    get = _COUNTS.get
    found = [get((name, t)) if t else 0 for t in texts]
    missing = list(dict.fromkeys(t for t, n in zip(texts, found, strict=True) if n is None))
    if not missing:
        return found  # type: ignore[return-value]
    encode = encoding.encode_ordinary
    fresh = {t: len(encode(t)) for t in missing}
    for t, n in fresh.items():
        _remember((name, t), n)
    return [fresh[t] if n is None else n for t, n in zip(texts, found, strict=True)]


def piece_tokens(encoding: Any, pieces: tuple[str, ...]) -> tuple[int, ...]:
    """Estimated tokens of each piece of one text: the joined text's exact count shared out
    by length (one encoding instead of one per piece; whoever joins pieces counts the result
    exactly)."""
    text = "".join(pieces)
    total = count_tokens(encoding, text) if text else 0
    size = len(text) or 1
    return tuple(max(1, round(total * len(p) / size)) if p.strip() else 0 for p in pieces)


def forget() -> None:
    """Empty every per-text cache (the benchmark's cold runs; tests)."""
    text_facts.cache_clear()
    _COUNTS.clear()
