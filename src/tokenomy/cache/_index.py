"""The vector index a backend searches: one usearch index per (namespace, scope).

One index per namespace and scope makes isolation structural: a lookup searches only the
index of its own namespace and scope, so no similarity, however high, can reach another
namespace's entries. Each index is a ``usearch.index.Index`` (cosine, float32): up to
``exact_below`` vectors it is searched exhaustively (exact: every stored near-duplicate is
found); above, through its HNSW graph with ``expansion_search`` (ef) high enough that
recall of near-duplicates stays at 99% or more (``benchmarks/bench_cache.py`` measures it).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Any

from tokenomy.exceptions import MissingDependencyError

__all__ = ["ScopeIndexes", "as_vector", "to_bytes"]


def _np() -> Any:
    import numpy as np

    return np


def as_vector(data: bytes | Any) -> Any:
    """A float32 numpy vector of ``data`` (bytes as stored, or a sequence of floats)."""
    np = _np()
    if isinstance(data, bytes | bytearray | memoryview):
        return np.frombuffer(bytes(data), dtype=np.float32)
    return np.asarray(data, dtype=np.float32)


def to_bytes(vector: Any) -> bytes:
    """``vector`` as float32 bytes, scaled to unit length."""
    np = _np()
    v = np.asarray(vector, dtype=np.float32)
    n = float(np.linalg.norm(v))
    if n > 0:
        v = v / n
    return bytes(v.astype(np.float32).tobytes())


def load_usearch() -> None:
    """Import usearch, importing faiss first when it is installed: with faiss-cpu 1.15 and
    usearch 2.26, a faiss index built after usearch's library loaded crashes the process
    (segmentation fault in faiss's constructors); loaded in this order both work (GPTCache's
    sqlite+faiss store and these indexes in one process)."""
    import importlib.util

    if "usearch.index" in sys.modules:
        return
    if "faiss" not in sys.modules and importlib.util.find_spec("faiss") is not None:
        import faiss  # noqa: F401
    try:
        import usearch.index  # noqa: F401
    except ImportError as exc:  # pragma: no cover - a declared dependency of the extra
        raise MissingDependencyError("usearch", "cache", "the semantic cache") from exc


class ScopeIndexes:
    """usearch indexes by (namespace, scope), with entry keys mapped to integer labels.
    Thread-safe (one lock)."""

    def __init__(
        self,
        *,
        connectivity: int = 32,
        expansion_add: int = 128,
        expansion_search: int = 64,
        exact_below: int = 2048,
    ) -> None:
        load_usearch()
        self.connectivity = connectivity
        self.expansion_add = expansion_add
        self.expansion_search = expansion_search
        self.exact_below = exact_below
        self._lock = threading.Lock()
        self._indexes: dict[tuple[str, str], Any] = {}
        self._labels: dict[tuple[str, str], int] = {}  # (namespace, key) -> label
        self._keys: dict[int, tuple[str, str, str]] = {}  # label -> (namespace, scope, key)
        self._next = 1

    def __len__(self) -> int:
        return len(self._keys)

    def _index(self, ndim: int) -> Any:
        from usearch.index import Index

        return Index(
            ndim=ndim,
            metric="cos",
            dtype="f32",
            connectivity=self.connectivity,
            expansion_add=self.expansion_add,
            expansion_search=self.expansion_search,
        )

    def add(self, namespace: str, scope: str, key: str, vector: bytes) -> None:
        """Index ``key`` (replacing what it had) under its namespace and scope."""
        v = as_vector(vector)
        with self._lock:
            self._remove(namespace, key)
            index = self._indexes.get((namespace, scope))
            if index is None or index.ndim != v.shape[0]:
                index = self._indexes[(namespace, scope)] = self._index(int(v.shape[0]))
            label = self._next
            self._next += 1
            index.add(label, v, threads=1)
            self._labels[(namespace, key)] = label
            self._keys[label] = (namespace, scope, key)

    def add_many(self, items: Iterable[tuple[str, str, str, bytes]]) -> None:
        """:meth:`add` each ``(namespace, scope, key, vector)``."""
        for namespace, scope, key, vector in items:
            self.add(namespace, scope, key, vector)

    def remove(self, namespace: str, key: str) -> None:
        """Forget ``key`` (no-op when absent)."""
        with self._lock:
            self._remove(namespace, key)

    def _remove(self, namespace: str, key: str) -> None:
        label = self._labels.pop((namespace, key), None)
        if label is None:
            return
        ns, scope, _ = self._keys.pop(label)
        index = self._indexes.get((ns, scope))
        if index is not None:
            index.remove(label)
            if len(index) == 0:
                del self._indexes[(ns, scope)]

    def drop_namespace(self, namespace: str) -> None:
        """Forget every index of ``namespace``."""
        with self._lock:
            for ns, scope in [k for k in self._indexes if k[0] == namespace]:
                del self._indexes[(ns, scope)]
            for label, (ns, _, key) in list(self._keys.items()):
                if ns == namespace:
                    del self._keys[label]
                    del self._labels[(ns, key)]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._indexes.clear()
            self._labels.clear()
            self._keys.clear()

    def search(
        self, namespace: str, scope: str, vector: bytes, k: int
    ) -> list[tuple[str, float]]:
        """Up to ``k`` ``(key, cosine similarity)`` of ``namespace``/``scope``, best first."""
        v = as_vector(vector)
        with self._lock:
            index = self._indexes.get((namespace, scope))
            if index is None or len(index) == 0 or index.ndim != v.shape[0]:
                return []
            matches = index.search(
                v, min(k, len(index)), exact=len(index) <= self.exact_below, threads=1
            )
            out: list[tuple[str, float]] = []
            for label, distance in zip(matches.keys, matches.distances, strict=False):
                found = self._keys.get(int(label))
                if found is not None and found[0] == namespace and found[1] == scope:
                    out.append((found[2], 1.0 - float(distance)))
            return out
