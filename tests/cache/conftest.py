"""Backends for the cache tests: each test that takes ``backend`` runs on every backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import drop_redis_prefix, require_redis
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


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CacheBackend]:
    prefix = f"tokenomy-test-cache-{uuid.uuid4().hex[:12]}"
    made = make_backend(request.param, tmp_path, prefix=prefix)
    try:
        yield made
    finally:
        if request.param == "redis":
            made.close()
            drop_redis_prefix(prefix)
        elif request.param in ("sqlite", "gptcache"):
            made.close()
