"""Text pieces the budgeter works on: sentences, words, shingles. No model, no tokenizer.

Words are lower-cased runs of letters and digits; CJK scripts (which have no spaces) are cut
into overlapping character pairs, so Chinese or Japanese text still shares words with a query.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["STOPWORDS", "raw_words", "raw_words_each", "shingles", "split_sentences", "words"]

# A sentence ends at . ! ? (and the CJK full stops), possibly followed by closing quotes or
# brackets, then whitespace; a blank line or a CJK full stop ends one even without whitespace.
# A period ending an abbreviation ("U.S.", "Dr.", "e.g.": a lone letter or a listed word) ends
# no sentence unless a line break follows it. The patterns do it all (fixed-width lookbehinds,
# one per abbreviation length), so splitting a text is one C-level scan and no Python check
# per end mark.
_ABBREVIATIONS = [
    "Mr",
    "Mrs",
    "Ms",
    "Dr",
    "Prof",
    "St",
    "Jr",
    "Sr",
    "vs",
    "Mt",
    "Gen",
    "Col",
    "Sgt",
    "Capt",
    "Lt",
    "Rev",
    "Gov",
    "Sen",
    "Rep",
    "No",
    "Nos",
    "Co",
    "Corp",
    "Inc",
    "Ltd",
    "Bros",
    "etc",
    "approx",
    "ca",
    "cf",
    "al",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Sept",
    "Oct",
    "Nov",
    "Dec",
]
_NOT_ABBREVIATION = "".join(
    rf"(?<!\b(?:{'|'.join(w for w in _ABBREVIATIONS if len(w) == n)})\.)"
    for n in sorted({len(w) for w in _ABBREVIATIONS})
)
_CLOSE = r"[\"'”’)\]]*"
_SENTENCE_END = re.compile(
    rf"(?<=[.!?])(?<!\b[A-Za-z]\.){_NOT_ABBREVIATION}{_CLOSE}\s+"
    rf"|(?<=[.!?]){_CLOSE}[^\S\n]*\n\s*"
    r"|(?<=[。！？])[」』”’）]*\s*|\n\s*\n",
)
# the same for a text whose only end marks are periods without a line break (most prose):
# a pattern that starts with a literal is scanned for at C speed, period to period
_PERIOD_END = re.compile(rf"\.(?<!\b[A-Za-z]\.){_NOT_ABBREVIATION}{_CLOSE}\s+")
_OTHER_MARKS = ("!", "?", "\n", "。", "！", "？")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "would",
    ]
)


def split_sentences(text: str) -> list[str]:
    """``text`` cut into sentences, each keeping its trailing whitespace: joining them gives
    ``text`` back. Text without a sentence end is one sentence."""
    pieces: list[str] = []
    start = 0
    ends = _SENTENCE_END if any(m in text for m in _OTHER_MARKS) else _PERIOD_END
    for end in map(_match_end, ends.finditer(text)):
        if end > start and not text[start:end].isspace():
            pieces.append(text[start:end])
            start = end
    if start < len(text):
        if not text[start:].isspace() or not pieces:
            pieces.append(text[start:])
        else:
            pieces[-1] += text[start:]
    return pieces


_match_end = re.Match.end


_STEMS: dict[str, str] = {}


def _stem(word: str) -> str:
    # enough folding for lexical overlap: plurals and possessives (memoised: a vocabulary)
    out = _STEMS.get(word)
    if out is None:
        out = word
        if len(word) > 4 and word.endswith("ies"):
            out = word[:-3] + "y"
        elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            out = word[:-1]
        if len(_STEMS) < 200_000:
            _STEMS[word] = out
    return out


def _raw_words(text: str) -> list[str]:
    # lower-cased words, CJK runs as overlapping character pairs; no stemming
    found = _WORD.findall(text.lower())
    if text.isascii() or not _CJK_RUN.search(text):
        return found
    out: list[str] = []
    for w in found:
        if _CJK_RUN.match(w):
            out.extend([w] if len(w) == 1 else [w[i : i + 2] for i in range(len(w) - 1)])
        else:
            out.append(w)
    return out


def raw_words(text: str) -> list[str]:
    """Lower-cased words of ``text``, unstemmed (CJK runs as overlapping character pairs)."""
    return _raw_words(text)


_PLAIN_WORD = re.compile(r"[^\W_]+")


def raw_words_each(text: str, pieces: Sequence[str]) -> list[list[str]]:
    """:func:`raw_words` of each of ``pieces`` (the sentences of ``text``), with one look for
    CJK over the whole text: the usual text has none, and then each piece is one C-level
    regex scan."""
    if text.isascii() or not _CJK_RUN.search(text):
        find = _PLAIN_WORD.findall
        return [find(p.lower()) for p in pieces]
    return [_raw_words(p) for p in pieces]


def words(text: str, *, drop_stopwords: bool = False) -> list[str]:
    """Lower-cased, lightly stemmed words of ``text`` (CJK runs as overlapping character
    pairs)."""
    stem = _STEMS.get
    out = []
    for w in _raw_words(text):
        if drop_stopwords and w in STOPWORDS:
            continue
        s = stem(w)
        out.append(s if s is not None else _stem(w))
    return out


def shingles(text: str, size: int = 3) -> frozenset[int]:
    """The hashed ``size``-word shingles of ``text`` (a text shorter than ``size`` words gives
    its words). Hashes are Python's: stable within a process, which is all dedup needs."""
    ws = _raw_words(text)
    if len(ws) < size:
        return frozenset(hash(w) for w in ws)
    return frozenset(map(hash, zip(*(ws[k:] for k in range(size)), strict=False)))
