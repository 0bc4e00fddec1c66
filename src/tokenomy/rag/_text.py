"""Text pieces the budgeter works on: sentences, words, shingles. No model, no tokenizer.

Words are lower-cased runs of letters and digits; CJK scripts (which have no spaces) are cut
into overlapping character pairs, so Chinese or Japanese text still shares words with a query.
"""

from __future__ import annotations

import re

__all__ = ["STOPWORDS", "raw_words", "shingles", "split_sentences", "words"]

# A sentence ends at . ! ? (and the CJK full stops), possibly followed by closing quotes or
# brackets, then whitespace; a blank line or a CJK full stop ends one even without whitespace.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"'”’)\]]*\s+|(?<=[。！？])[」』”’）]*\s*|\n\s*\n",
)
# a piece ending like this ended at an abbreviation, not a sentence: "U.S. ", "Dr. ", "e.g. "
_ABBREVIATION = re.compile(
    r"(?:\b[A-Za-z]\.(?:[A-Za-z]\.)*|\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|Mt|Gen|Col|Sgt|Capt|"
    r"Lt|Rev|Gov|Sen|Rep|No|Nos|Co|Corp|Inc|Ltd|Bros|etc|approx|ca|cf|al|Jan|Feb|Mar|Apr|Jun|"
    r"Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.)[\"'”’)\]]*\s+$"
)
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
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        # abbreviations are short: look at the last few characters of the piece only
        if "\n" not in m.group() and _ABBREVIATION.search(text, max(start, end - 24), end):
            continue
        if end > start and text[start:end].strip():
            pieces.append(text[start:end])
            start = end
    if start < len(text):
        if text[start:].strip() or not pieces:
            pieces.append(text[start:])
        else:
            pieces[-1] += text[start:]
    return pieces


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
