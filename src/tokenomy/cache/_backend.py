"""``CacheBackend``: where a :class:`~tokenomy.cache.ResponseCache` keeps its entries.

The one extension point of the cache's storage. A backend stores :class:`CacheEntry`s by
``(namespace, key)``, finds a namespace's and scope's nearest vectors (:meth:`search`), keeps
its size under ``max_entries`` by evicting the least recently used entry, and forgets a key or
a whole namespace on request. Every method takes the namespace: no method can read across
namespaces. Bundled: :class:`MemoryCacheBackend` (here), ``SQLiteCacheBackend``,
``RedisCacheBackend`` and ``GPTCacheBackend``.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict

from tokenomy.cache._entry import CacheEntry
from tokenomy.cache._index import ScopeIndexes
from tokenomy.exceptions import ConfigurationError

__all__ = ["CacheBackend", "MemoryCacheBackend"]


class CacheBackend(ABC):
    """Storage of a response cache (module docstring). Implementations are thread-safe."""

    #: the size limit (entries, all namespaces together); ``None``: unbounded
    max_entries: int | None = None

    @abstractmethod
    def get(self, namespace: str, key: str, *, now: float | None = None) -> CacheEntry | None:
        """The live entry of ``namespace`` under ``key`` (marked as just used), else
        ``None``; an expired entry is deleted and not returned."""

    @abstractmethod
    def put(self, entry: CacheEntry) -> None:
        """Store ``entry`` (replacing one with its namespace and key), evicting the least
        recently used entries past :attr:`max_entries`."""

    @abstractmethod
    def search(
        self, namespace: str, scope: str, vector: bytes, k: int = 4
    ) -> list[tuple[str, float]]:
        """Up to ``k`` ``(key, cosine similarity)`` of ``namespace``'s entries in ``scope``,
        most similar first (only there: never another namespace's or scope's)."""

    @abstractmethod
    def delete(self, namespace: str, key: str) -> bool:
        """Forget one entry; whether it was there."""

    @abstractmethod
    def invalidate(self, namespace: str) -> int:
        """Forget every entry of ``namespace``; how many there were."""

    @abstractmethod
    def count(self, namespace: str | None = None) -> int:
        """Entries stored (in ``namespace``, or in all)."""

    def close(self) -> None:  # noqa: B027 - optional: most backends hold nothing
        """Release connections (default: nothing to release)."""


def check_max(max_entries: int | None) -> int | None:
    if max_entries is not None and max_entries < 1:
        raise ConfigurationError(
            f"max_entries must be a positive number of entries or None, got {max_entries!r}"
        )
    return max_entries


class MemoryCacheBackend(CacheBackend):
    """Entries in this process's memory, LRU-ordered, with a usearch index per namespace and
    scope. ``max_entries`` (default 100,000) bounds them; one lock."""

    def __init__(self, *, max_entries: int | None = 100_000, index: ScopeIndexes | None = None):
        self.max_entries = check_max(max_entries)
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], CacheEntry] = OrderedDict()
        self._index = index or ScopeIndexes()
        #: entries evicted by the size limit so far
        self.evicted = 0

    def __repr__(self) -> str:
        return f"MemoryCacheBackend(entries={len(self._entries)}, max_entries={self.max_entries})"

    def get(self, namespace: str, key: str, *, now: float | None = None) -> CacheEntry | None:
        now = time.time() if now is None else now
        with self._lock:
            entry = self._entries.get((namespace, key))
            if entry is None:
                return None
            if entry.expired(now):
                self._drop((namespace, key))
                return None
            self._entries.move_to_end((namespace, key))
            return entry

    def put(self, entry: CacheEntry) -> None:
        with self._lock:
            ident = (entry.namespace, entry.key)
            if ident in self._entries:
                self._drop(ident)
            self._entries[ident] = entry
            if entry.vector is not None:
                self._index.add(entry.namespace, entry.scope, entry.key, entry.vector)
            limit = self.max_entries
            while limit is not None and len(self._entries) > limit:
                self._drop(next(iter(self._entries)))
                self.evicted += 1

    def _drop(self, ident: tuple[str, str]) -> None:
        entry = self._entries.pop(ident, None)
        if entry is not None and entry.vector is not None:
            self._index.remove(ident[0], ident[1])

    def search(
        self, namespace: str, scope: str, vector: bytes, k: int = 4
    ) -> list[tuple[str, float]]:
        return self._index.search(namespace, scope, vector, k)

    def delete(self, namespace: str, key: str) -> bool:
        with self._lock:
            found = (namespace, key) in self._entries
            self._drop((namespace, key))
            return found

    def invalidate(self, namespace: str) -> int:
        with self._lock:
            idents = [i for i in self._entries if i[0] == namespace]
            for ident in idents:
                del self._entries[ident]
            self._index.drop_namespace(namespace)
            return len(idents)

    def count(self, namespace: str | None = None) -> int:
        with self._lock:
            if namespace is None:
                return len(self._entries)
            return sum(1 for i in self._entries if i[0] == namespace)
