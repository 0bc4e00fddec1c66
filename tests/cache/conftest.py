"""Backends for the cache tests: each test that takes ``backend`` runs on every backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cache_backends import BACKENDS, make_backend

from services import drop_redis_prefix
from tokenomy.cache import CacheBackend


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
