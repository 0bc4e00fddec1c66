"""Text pieces the budgeter works on: sentences, words, shingles. No model, no tokenizer.

Words are lower-cased runs of letters and digits; CJK scripts (which have no spaces) are cut
into overlapping character pairs, so Chinese or Japanese text still shares words with a query.
"""

from __future__ import annotations

import re
import zlib

__all__ = ["shingles", "split_sentences", "words"]

# A sentence ends at . ! ? (and the CJK full stops), possibly followed by closing quotes or
# brackets, then whitespace; a blank line or a CJK full stop ends one even without whitespace.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"'”’)\]]*\s+|(?<=[。！？])[」』”’）]*\s*|\n\s*\n",
)
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]")
_STOP = frozenset(
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
        if end > start and text[start:end].strip():
            pieces.append(text[start:end])
            start = end
    if start < len(text):
        if text[start:].strip() or not pieces:
            pieces.append(text[start:])
        else:
            pieces[-1] += text[start:]
    return pieces


def _stem(word: str) -> str:
    # enough folding for lexical overlap: plurals and possessives
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str, *, drop_stopwords: bool = False) -> list[str]:
    """Lower-cased words of ``text`` (CJK runs as overlapping character pairs)."""
    out: list[str] = []
    for m in _WORD.finditer(text.lower()):
        w = m.group()
        if _CJK_RUN.match(w):
            if len(w) == 1:
                out.append(w)
            else:
                out.extend(w[i : i + 2] for i in range(len(w) - 1))
        elif not (drop_stopwords and w in _STOP):
            out.append(_stem(w))
    return out


def shingles(text: str, size: int = 3) -> frozenset[int]:
    """The hashed ``size``-word shingles of ``text`` (CRC-32, stable across processes); a text
    shorter than ``size`` words gives its words."""
    ws = words(text)
    grams = (
        ws if len(ws) < size else [" ".join(ws[i : i + size]) for i in range(len(ws) - size + 1)]
    )
    return frozenset(zlib.crc32(g.encode()) for g in grams)
