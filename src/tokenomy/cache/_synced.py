"""The shared part of the backends whose entries live in a store several processes use
(SQLite, Redis): this process's usearch indexes, kept in step with the store.

Every write to the store also appends to its change log (``put``/``del`` of one key, ``ns``
for a whole namespace). Before a search the backend reads the log from its cursor and applies
each change to its indexes (a ``put`` brings the vector from the store), so an entry another
process stored is found by the next search here. On first use, or when the log was trimmed
past the cursor, the indexes are built again from every stored vector.
"""

from __future__ import annotations

import threading
import time
from abc import abstractmethod
from collections.abc import Iterable
from typing import Any

from tokenomy.cache._backend import CacheBackend
from tokenomy.cache._index import ScopeIndexes

__all__ = ["Change", "SyncedBackend"]

#: (op, namespace, key, scope, vector): op "put" (vector may be None: fetch), "del", "ns"
Change = tuple[str, str, str, str, bytes | None]


class SyncedBackend(CacheBackend):
    """A backend with a change log, keeping a local index in step (module docstring).
    ``sync_every``: seconds between log reads (0: before every search)."""

    def __init__(self, *, index: ScopeIndexes | None = None, sync_every: float = 0.0) -> None:
        self._index = index or ScopeIndexes()
        self._cursor: Any = None
        self._synced_at = 0.0
        self._sync_lock = threading.Lock()
        self.sync_every = sync_every
        #: full index builds so far (first use, or a log trimmed past the cursor)
        self.rebuilds = 0

    @abstractmethod
    def _log_head(self) -> Any:
        """The log's current end (a cursor: changes after it are new)."""

    @abstractmethod
    def _all_vectors(self) -> Iterable[tuple[str, str, str, bytes]]:
        """Every stored ``(namespace, scope, key, vector)``."""

    @abstractmethod
    def _changes(self, cursor: Any) -> tuple[Any, list[Change]] | None:
        """Changes after ``cursor`` and the new cursor; ``None`` when the log no longer
        reaches back to ``cursor`` (a full build is needed)."""

    def sync(self) -> None:
        """Bring this process's indexes in step with the store now."""
        with self._sync_lock:
            if self._cursor is None:
                self._rebuild()
                return
            found = self._changes(self._cursor)
            if found is None:
                self._rebuild()
                return
            self._cursor, changes = found
            for op, namespace, key, scope, vector in changes:
                if op == "put" and vector is not None:
                    self._index.add(namespace, scope, key, vector)
                elif op == "del":
                    self._index.remove(namespace, key)
                elif op == "ns":
                    self._index.drop_namespace(namespace)
            self._synced_at = time.monotonic()

    def _rebuild(self) -> None:
        head = self._log_head()  # read first: a change made during the load is replayed
        self._index.clear()
        for namespace, scope, key, vector in self._all_vectors():
            self._index.add(namespace, scope, key, vector)
        self._cursor = head
        self._synced_at = time.monotonic()
        self.rebuilds += 1

    def search(
        self, namespace: str, scope: str, vector: bytes, k: int = 4
    ) -> list[tuple[str, float]]:
        if self._cursor is None or time.monotonic() - self._synced_at >= self.sync_every:
            self.sync()
        return self._index.search(namespace, scope, vector, k)
