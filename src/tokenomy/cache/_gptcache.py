"""``GPTCacheBackend``: a response cache stored in GPTCache, for users who already run it.

Entries go through GPTCache's data manager (``save`` / ``search`` / ``get_scalar_data``: its
scalar store and vector store, e.g. ``sqlite,faiss``), so they live wherever the user's GPTCache
keeps its data. GPTCache has no namespaces: every entry's answer is the tokenomy entry as JSON
(namespace, scope, key, answer), and a result whose namespace or scope is not the lookup's is
dropped, whatever its distance (an adversary's entries can push a namespace's own out of the
``top_k`` searched, costing a miss, never a leak). An entry without text is saved under a
vector derived from its key, so an exact lookup is a search for that vector.

Guarded: creating a backend replaces GPTCache's ``prompt_install`` (which runs ``pip install``
when an optional module is missing) with a function raising ``MissingDependencyError``, and its
``init_similar_cache_from_config`` (which loads YAML with the unsafe loader) with one that
refuses; nothing here reads a GPTCache config file.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from tokenomy.cache._backend import CacheBackend
from tokenomy.cache._entry import CacheEntry
from tokenomy.cache._index import as_vector, to_bytes
from tokenomy.exceptions import ConfigurationError, MissingDependencyError

__all__ = ["GPTCacheBackend", "block_gptcache_hazards"]


def _no_install(package: str, warn: bool = False) -> None:
    raise MissingDependencyError(package, "cache", "GPTCache (runtime pip install is blocked)")


def _no_yaml_config(*args: Any, **kwargs: Any) -> None:
    raise ConfigurationError(
        "init_similar_cache_from_config loads YAML with the unsafe loader and is blocked by "
        "tokenomy: build the GPTCache data manager in code and pass it to GPTCacheBackend"
    )


def block_gptcache_hazards() -> None:
    """Replace GPTCache's runtime ``pip install`` and unsafe-YAML config loader (module
    docstring). Idempotent."""
    try:
        import gptcache.utils as utils
        import gptcache.utils.dependency_control as control
    except ImportError as exc:
        raise MissingDependencyError("gptcache", "gptcache", "GPTCacheBackend") from exc
    control.prompt_install = _no_install
    utils.prompt_install = _no_install
    try:
        import gptcache.adapter.api as api

        api.init_similar_cache_from_config = _no_yaml_config
    except ImportError:  # pragma: no cover - part of gptcache
        pass


_UNREAD = object()


def _key_vector(namespace: str, key: str, dimension: int) -> bytes:
    import numpy as np

    seed = int.from_bytes(hashlib.sha256(f"{namespace}\x1f{key}".encode()).digest()[:8], "big")
    return to_bytes(np.random.default_rng(seed).standard_normal(dimension))


class GPTCacheBackend(CacheBackend):
    """Entries in a GPTCache data manager (module docstring).

    ``data_manager``: a GPTCache ``DataManager`` (or ``cache_obj``: an initialised
    ``gptcache.Cache``, whose data manager is used); default: ``sqlite,faiss`` in ``data_dir``
    with vectors of ``dimension`` floats. ``top_k``: results a semantic search reads.
    """

    def __init__(
        self,
        *,
        data_manager: Any = None,
        cache_obj: Any = None,
        data_dir: str | None = None,
        dimension: int = 384,
        max_entries: int = 100_000,
        top_k: int = 16,
    ) -> None:
        block_gptcache_hazards()
        if data_manager is None and cache_obj is not None:
            data_manager = cache_obj.data_manager
        if data_manager is None:
            if data_dir is None:
                raise ConfigurationError("GPTCacheBackend needs data_manager, cache_obj or data_dir")
            from gptcache.manager import manager_factory

            data_manager = manager_factory(
                "sqlite,faiss",
                data_dir=data_dir,
                vector_params={"dimension": dimension},
                # GPTCache 0.1.44 ignores max_size: the memory eviction's size is here
                eviction_params={"max_size": max_entries},
            )
        self.dm = data_manager
        self.dimension = dimension
        self.max_entries = max_entries
        self.top_k = top_k
        self._lock = threading.Lock()
        self._read: dict[int, object] = {}

    def __repr__(self) -> str:
        return f"GPTCacheBackend(dimension={self.dimension})"

    def _results(self, vector: bytes, k: int) -> Iterator[tuple[float, int, CacheEntry]]:
        """The tokenomy entries nearest ``vector``, best first, read one at a time (a caller
        that has what it needs stops before the rest are fetched)."""
        with self._lock:
            found = self.dm.search(as_vector(vector), top_k=k) or []
        for res in found:
            ident = int(res[1])
            entry = self._read.get(ident, _UNREAD)
            if entry is _UNREAD:
                entry = self._entry(res)
                self._read[ident] = entry
            if isinstance(entry, CacheEntry):
                yield float(res[0]), ident, entry

    def _entry(self, res: Any) -> CacheEntry | None:
        # a saved row never changes (a replaced entry is a new row), so it is read once
        with self._lock:
            data = self.dm.get_scalar_data(res)
        if data is None:
            return None
        answer = data.answers[0].answer if data.answers else None
        if not isinstance(answer, str):
            return None
        try:
            return CacheEntry.from_json(answer)
        except (ValueError, KeyError):
            return None  # not a tokenomy entry (the user's own GPTCache data)

    def get(self, namespace: str, key: str, *, now: float | None = None) -> CacheEntry | None:
        now = time.time() if now is None else now
        for _, _ident, entry in self._results(_key_vector(namespace, key, self.dimension), 2):
            if entry.namespace == namespace and entry.key == key:
                if entry.expired(now):
                    self.delete(namespace, key)
                    return None
                return entry
        return None

    def put(self, entry: CacheEntry) -> None:
        self.delete(entry.namespace, entry.key)
        vector = entry.vector or _key_vector(entry.namespace, entry.key, self.dimension)
        question = f"{entry.namespace}\x1f{entry.key}"
        with self._lock:
            self.dm.save(question, entry.to_json(), as_vector(vector))
            if entry.vector is not None:
                # exact lookups find semantic entries through their key vector too
                self.dm.save(
                    question + "\x1fkey",
                    entry.to_json(),
                    as_vector(_key_vector(entry.namespace, entry.key, self.dimension)),
                )

    def search(
        self, namespace: str, scope: str, vector: bytes, k: int = 4
    ) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        seen: set[str] = set()
        for distance, _, entry in self._results(vector, max(k, self.top_k)):
            if (
                entry.namespace == namespace
                and entry.scope == scope
                and entry.text is not None
                and entry.key not in seen
            ):
                seen.add(entry.key)  # best first; the entry's key-vector copy comes later
                out.append((entry.key, 1.0 - distance / 2.0))  # faiss L2² of unit vectors
                if len(out) >= k:
                    break
        return out[:k]

    def _drop(self, ids: list[int]) -> None:
        for ident in ids:
            self._read.pop(ident, None)
        with self._lock:
            self.dm.eviction_manager.soft_evict(ids)
            self.dm.eviction_manager.delete()

    def _ids_of(self, namespace: str, key: str | None) -> tuple[list[int], set[str]]:
        ids: list[int] = []
        keys: set[str] = set()
        for ident in self.dm.s.get_ids(deleted=False):
            data = self.dm.s.get_data_by_id(ident)
            if data is None or not data.answers or not isinstance(data.answers[0].answer, str):
                continue
            try:
                entry = CacheEntry.from_json(data.answers[0].answer)
            except (ValueError, KeyError):
                continue
            if entry.namespace == namespace and (key is None or entry.key == key):
                ids.append(int(ident))
                keys.add(entry.key)
        return ids, keys

    def delete(self, namespace: str, key: str) -> bool:
        found = [
            ident
            for _, ident, entry in self._results(_key_vector(namespace, key, self.dimension), 4)
            if entry.namespace == namespace and entry.key == key
        ]
        if not found:
            return False
        ids, _ = self._ids_of(namespace, key)
        if ids:
            self._drop(ids)
        return bool(ids)

    def invalidate(self, namespace: str) -> int:
        ids, keys = self._ids_of(namespace, None)
        if ids:
            self._drop(ids)
        return len(keys)

    def count(self, namespace: str | None = None) -> int:
        if namespace is None:
            return sum(1 for _ in self.dm.s.get_ids(deleted=False)) // 1
        return len(self._ids_of(namespace, None)[1])

    def close(self) -> None:
        self.dm.close()
