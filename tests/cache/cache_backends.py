"""Cache backends for the cache tests, one per kind (``from cache_backends import make_backend``)."""

from __future__ import annotations

from pathlib import Path

from services import require_redis
from tokenomy.cache import (
    CacheBackend,
    GPTCacheBackend,
    MemoryCacheBackend,
    RedisCacheBackend,
    SQLiteCacheBackend,
)

BACKENDS = ("memory", "sqlite", "redis", "gptcache")


def make_backend(kind: str, tmp_path: Path, *, max_entries: int | None = 1000, **kw: object) -> CacheBackend:
    if kind == "memory":
        return MemoryCacheBackend(max_entries=max_entries)
    if kind == "sqlite":
        return SQLiteCacheBackend(tmp_path / "cache.db", max_entries=max_entries)
    if kind == "redis":
        url = require_redis()
        return RedisCacheBackend(url=url, prefix=str(kw["prefix"]), max_entries=max_entries)
    return GPTCacheBackend(data_dir=str(tmp_path / "gpt"), dimension=512, max_entries=max_entries or 100_000)
