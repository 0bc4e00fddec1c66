"""``RedisCacheBackend``: entries and vectors in Redis, shared by every process and machine.

Redis 7 without a vector-search module: the entries and their vectors live in Redis, and
each process searches its own usearch indexes, kept in step through a Redis stream (the
change log, see ``_synced``). Keys, under ``prefix``:

* ``{prefix}:e:{namespace}\\x1f{key}``: a hash (``body`` JSON, ``vector`` float32 bytes,
  ``scope``), expiring at the entry's TTL (``PEXPIREAT``);
* ``{prefix}:lru``: a sorted set of ``namespace\\x1fkey`` by last use (the size limit evicts
  its lowest);
* ``{prefix}:ns:{namespace}``: the namespace's keys (``invalidate``), ``{prefix}:namespaces``;
* ``{prefix}:log``: the stream of changes (``XADD ... MAXLEN ~ log_keep``).

Writes are one ``MULTI`` transaction each. ``clear()`` deletes only this prefix's keys.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from tokenomy.cache._backend import check_max
from tokenomy.cache._entry import CacheEntry
from tokenomy.cache._index import ScopeIndexes
from tokenomy.cache._synced import Change, SyncedBackend
from tokenomy.exceptions import MissingDependencyError

__all__ = ["RedisCacheBackend"]

_SEP = "\x1f"


class RedisCacheBackend(SyncedBackend):
    """Entries in Redis (module docstring). ``client``: a ``redis.Redis`` (default: one for
    ``url``); ``max_entries``: the size limit over all processes (LRU)."""

    def __init__(
        self,
        client: Any = None,
        *,
        url: str = "redis://127.0.0.1:6379/0",
        prefix: str = "tokenomy:cache",
        max_entries: int | None = 100_000,
        log_keep: int = 100_000,
        index: ScopeIndexes | None = None,
        sync_every: float = 0.0,
    ) -> None:
        super().__init__(index=index, sync_every=sync_every)
        if client is None:
            try:
                import redis
            except ImportError as exc:
                raise MissingDependencyError("redis", "redis", "RedisCacheBackend") from exc
            client = redis.Redis.from_url(url)
        self.client = client
        self.prefix = prefix
        self.max_entries = check_max(max_entries)
        self.log_keep = log_keep
        #: entries evicted by the size limit so far (by this process)
        self.evicted = 0

    def __repr__(self) -> str:
        return f"RedisCacheBackend(prefix={self.prefix!r}, max_entries={self.max_entries})"

    def _ek(self, namespace: str, key: str) -> str:
        return f"{self.prefix}:e:{namespace}{_SEP}{key}"

    # -- the change log --------------------------------------------------------------------

    def _log_head(self) -> Any:
        last = self.client.xrevrange(f"{self.prefix}:log", count=1)
        return last[0][0] if last else b"0-0"

    def _all_vectors(self) -> Iterable[tuple[str, str, str, bytes]]:
        c = self.client
        for raw_ns in c.smembers(f"{self.prefix}:namespaces"):
            ns = raw_ns.decode()
            keys = [k.decode() for k in c.smembers(f"{self.prefix}:ns:{ns}")]
            for i in range(0, len(keys), 1000):
                part = keys[i : i + 1000]
                pipe = c.pipeline(transaction=False)
                for key in part:
                    pipe.hmget(self._ek(ns, key), "scope", "vector")
                for key, (scope, vector) in zip(part, pipe.execute(), strict=True):
                    if scope is not None and vector is not None:
                        yield ns, scope.decode(), key, bytes(vector)

    def _changes(self, cursor: Any) -> tuple[Any, list[Change]] | None:
        log = f"{self.prefix}:log"
        pipe = self.client.pipeline(transaction=False)
        pipe.xrange(log, count=1)
        pipe.xrange(log, min=b"(" + cursor if cursor != b"0-0" else b"-", count=10_000)
        first, rows = pipe.execute()
        if first and _id(first[0][0]) > _id(cursor) and cursor != b"0-0":
            return None  # the entries after the cursor were trimmed: build again
        if not rows:
            return cursor, []
        changes: list[Change] = []
        wanted: list[tuple[int, str, str]] = []
        for _entry_id, fields in rows:
            op = fields[b"op"].decode()
            ns = fields[b"ns"].decode()
            key = fields[b"key"].decode()
            scope = fields[b"scope"].decode()
            if op == "put":
                wanted.append((len(changes), ns, key))
            changes.append((op, ns, key, scope, None))
        if wanted:
            pipe = self.client.pipeline(transaction=False)
            for _, ns, key in wanted:
                pipe.hmget(self._ek(ns, key), "scope", "vector")
            for (i, ns, key), (scope, vector) in zip(wanted, pipe.execute(), strict=True):
                if scope is not None and vector is not None:
                    changes[i] = ("put", ns, key, scope.decode(), bytes(vector))
        return rows[-1][0], changes

    def _log(self, pipe: Any, op: str, namespace: str, key: str, scope: str) -> None:
        pipe.xadd(
            f"{self.prefix}:log",
            {"op": op, "ns": namespace, "key": key, "scope": scope},
            maxlen=self.log_keep,
            approximate=True,
        )

    # -- entries ---------------------------------------------------------------------------

    def get(self, namespace: str, key: str, *, now: float | None = None) -> CacheEntry | None:
        now = time.time() if now is None else now
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self._ek(namespace, key), "body", "vector")
        pipe.zadd(f"{self.prefix}:lru", {f"{namespace}{_SEP}{key}": now}, xx=True)
        (body, vector), _ = pipe.execute()
        if body is None:
            return None
        entry = CacheEntry.from_json(body, None if vector is None else bytes(vector))
        if entry.namespace != namespace:
            return None
        if entry.expired(now):
            self.delete(namespace, key)
            return None
        return entry

    def put(self, entry: CacheEntry) -> None:
        ns, key = entry.namespace, entry.key
        ek = self._ek(ns, key)
        pipe = self.client.pipeline(transaction=True)
        mapping: dict[str, Any] = {"body": entry.to_json(), "scope": entry.scope}
        pipe.delete(ek)
        if entry.vector is not None:
            mapping["vector"] = entry.vector
        pipe.hset(ek, mapping=mapping)
        if entry.expires is not None:
            pipe.pexpireat(ek, int(entry.expires * 1000))
        pipe.zadd(f"{self.prefix}:lru", {f"{ns}{_SEP}{key}": time.time()})
        pipe.sadd(f"{self.prefix}:ns:{ns}", key)
        pipe.sadd(f"{self.prefix}:namespaces", ns)
        self._log(pipe, "put", ns, key, entry.scope)
        pipe.zcard(f"{self.prefix}:lru")
        total = pipe.execute()[-1]
        if entry.vector is not None:
            self._index.add(ns, entry.scope, key, entry.vector)
        if self.max_entries is not None and total > self.max_entries:
            self._evict(int(total) - self.max_entries)

    def _evict(self, n: int) -> None:
        popped = self.client.zpopmin(f"{self.prefix}:lru", n)
        if not popped:
            return
        pipe = self.client.pipeline(transaction=True)
        for member, _ in popped:
            ns, key = member.decode().split(_SEP, 1)
            pipe.delete(self._ek(ns, key))
            pipe.srem(f"{self.prefix}:ns:{ns}", key)
            self._log(pipe, "del", ns, key, "")
            self._index.remove(ns, key)
        pipe.execute()
        self.evicted += len(popped)

    def delete(self, namespace: str, key: str) -> bool:
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(self._ek(namespace, key))
        pipe.zrem(f"{self.prefix}:lru", f"{namespace}{_SEP}{key}")
        pipe.srem(f"{self.prefix}:ns:{namespace}", key)
        self._log(pipe, "del", namespace, key, "")
        found = bool(pipe.execute()[0])
        self._index.remove(namespace, key)
        return found

    def invalidate(self, namespace: str) -> int:
        c = self.client
        keys = [k.decode() for k in c.smembers(f"{self.prefix}:ns:{namespace}")]
        pipe = c.pipeline(transaction=True)
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            pipe.delete(*[self._ek(namespace, k) for k in part])
            pipe.zrem(f"{self.prefix}:lru", *[f"{namespace}{_SEP}{k}" for k in part])
        pipe.delete(f"{self.prefix}:ns:{namespace}")
        pipe.srem(f"{self.prefix}:namespaces", namespace)
        self._log(pipe, "ns", namespace, "", "")
        results = pipe.execute()
        self._index.drop_namespace(namespace)
        return sum(int(r) for r in results[: 2 * ((len(keys) + 499) // 500)][::2])

    def count(self, namespace: str | None = None) -> int:
        if namespace is None:
            return int(self.client.zcard(f"{self.prefix}:lru"))
        return int(self.client.scard(f"{self.prefix}:ns:{namespace}"))

    def clear(self) -> int:
        """Delete every key under this backend's prefix (never anything else); how many."""
        n = 0
        batch: list[bytes] = []
        for k in self.client.scan_iter(match=f"{self.prefix}:*", count=1000):
            batch.append(k)
            if len(batch) >= 500:
                n += int(self.client.delete(*batch))
                batch.clear()
        if batch:
            n += int(self.client.delete(*batch))
        self._index.clear()
        self._cursor = None
        return n

    def close(self) -> None:
        self.client.close()


def _id(raw: bytes) -> tuple[int, int]:
    ms, _, seq = raw.decode().partition("-")
    return int(ms), int(seq or 0)
