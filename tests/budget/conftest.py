"""The budget stores every conformance test runs against: memory, SQLite (a fresh file) and
the real Redis server on loopback (a key prefix of the test's own, deleted after)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import drop_redis_prefix, require_redis
from tokenomy import BudgetStore, MemoryBudgetStore, RedisBudgetStore, SQLiteBudgetStore

STORE_KINDS = ("memory", "sqlite", "redis")


def make_store(kind: str, tmp_path: Path, prefixes: list[str]) -> BudgetStore:
    """A fresh store of ``kind`` (Redis prefixes are noted in ``prefixes`` for clean-up)."""
    if kind == "memory":
        return MemoryBudgetStore()
    if kind == "sqlite":
        return SQLiteBudgetStore(tmp_path / f"budget-{uuid.uuid4().hex[:8]}.db")
    url = require_redis()
    prefix = f"tokenomy-test:budget:{uuid.uuid4().hex}"
    prefixes.append(prefix)
    return RedisBudgetStore(url, prefix=prefix)


@pytest.fixture
def redis_prefixes() -> Iterator[list[str]]:
    """Prefixes of the Redis stores a test made; their keys are deleted after it."""
    prefixes: list[str] = []
    yield prefixes
    for prefix in prefixes:
        drop_redis_prefix(prefix)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, redis_prefixes: list[str]) -> Iterator[BudgetStore]:
    """Each bundled budget store in turn."""
    if request.param == "redis":
        request.applymarker(pytest.mark.redis)
    s = make_store(request.param, tmp_path, redis_prefixes)
    yield s
    s.close()
