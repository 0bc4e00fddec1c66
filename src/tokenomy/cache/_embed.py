"""Embedders for the semantic cache.

The cache takes any :class:`tokenomy.rag.Embedder` (the integrations adapt a LangChain
``Embeddings`` or a LlamaIndex ``BaseEmbedding`` to one): the offline MiniLM
(:class:`tokenomy.MiniLMEmbedder`, extra ``tokenomy[embeddings]``) is the default, and
:class:`LexicalFallbackEmbedder` is the cheap one that needs nothing (hashed words and
character trigrams: it matches rewordings that share words, not paraphrases).
:class:`CachedEmbedder` keeps the vectors of recent texts, so a repeated question is embedded
once (a lookup and the store after a miss embed the same text).
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence

from tokenomy.cache._index import to_bytes
from tokenomy.rag._embed import Embedder

__all__ = ["CachedEmbedder", "LexicalFallbackEmbedder", "default_embedder"]


class LexicalFallbackEmbedder(Embedder):
    """A lexical fallback, not a semantic model: words and character trigrams hashed into
    ``dimensions`` buckets. Texts that share most words score high; paraphrases with
    different words do not. Deterministic, no dependency, microseconds per text."""

    def __init__(self, dimensions: int = 512) -> None:
        self.dimensions = dimensions

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        d = self.dimensions
        for text in texts:
            v = [0.0] * d
            words = text.split()
            for w in words:
                v[zlib.crc32(w.encode()) % d] += 2.0
            padded = f" {text} "
            for i in range(len(padded) - 2):
                v[zlib.crc32(padded[i : i + 3].encode()) % d] += 0.5
            out.append(v)
        return out


class CachedEmbedder(Embedder):
    """``embedder`` with the vectors of the last ``size`` texts kept (as unit float32 bytes
    for the cache, :meth:`vector`); texts asked together are embedded in one batch."""

    def __init__(self, embedder: Embedder, *, size: int = 4096) -> None:
        self.embedder = embedder
        self.size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        #: texts embedded by the wrapped embedder / answered from the kept vectors
        self.embedded = 0
        self.reused = 0

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.embedder!r}, size={self.size})"

    def vectors(self, texts: Sequence[str]) -> list[bytes]:
        """Unit float32 vectors of ``texts`` (bytes), embedding only those not kept."""
        out: list[bytes | None] = []
        missing: list[str] = []
        with self._lock:
            for t in texts:
                v = self._kept.get(t)
                if v is not None:
                    self._kept.move_to_end(t)
                    self.reused += 1
                elif t not in missing:
                    missing.append(t)
                out.append(v)
        if missing:
            fresh = dict(zip(missing, map(to_bytes, self.embedder.embed(missing)), strict=True))
            with self._lock:
                self.embedded += len(missing)
                for t, v in fresh.items():
                    self._kept[t] = v
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
            out = [v if v is not None else fresh[t] for v, t in zip(out, texts, strict=True)]
        return [v for v in out if v is not None]

    def vector(self, text: str) -> bytes:
        """:meth:`vectors` of one text."""
        return self.vectors([text])[0]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        from tokenomy.cache._index import as_vector

        return [list(map(float, as_vector(v))) for v in self.vectors(texts)]


def default_embedder() -> Embedder:
    """The offline MiniLM (one CPU thread: far faster than torch's default on a busy
    machine); needs ``pip install 'tokenomy[embeddings]'``."""
    from tokenomy.rag._embed import MiniLMEmbedder

    return MiniLMEmbedder(threads=1)
