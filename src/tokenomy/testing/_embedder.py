"""``HashingEmbedder``: a deterministic :class:`tokenomy.rag.Embedder` for tests.

Each word (as the budgeter splits them, CJK as character pairs) is hashed into one of
``dimensions`` buckets; a text's vector is its bucket counts. Texts sharing words get a high
cosine similarity, identical texts 1.0, so near-duplicate removal and embedding-scored
compression behave as they would with a real model on lexical overlap, with no model.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from tokenomy.rag import Embedder
from tokenomy.rag._text import words

__all__ = ["HashingEmbedder"]


class HashingEmbedder(Embedder):
    """Bag-of-words vectors by hashing; ``calls`` counts the texts embedded so far."""

    def __init__(self, dimensions: int = 256) -> None:
        self.dimensions = dimensions
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += len(texts)
        out: list[list[float]] = []
        for text in texts:
            v = [0.0] * self.dimensions
            for w in words(text, drop_stopwords=True):
                v[zlib.crc32(w.encode()) % self.dimensions] += 1.0
            out.append(v)
        return out
