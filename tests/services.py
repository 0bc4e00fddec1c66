"""The real services tests use (PostgreSQL on loopback): one place knows how to reach them.

``from services import require_postgres, drop_schema, PG_URL`` (tests/ is on sys.path).
Unreachable: the test is skipped with the reason, or fails when CI=true, where it must run.
"""

from __future__ import annotations

import os

import pytest

PG_URL = os.environ.get("TOKENOMY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_pg_error: list[str | None] = []


def require_postgres() -> str:
    """The test server URL; skips (fails under CI=true) when it cannot be reached."""
    if not _pg_error:
        try:
            import psycopg

            psycopg.connect(PG_URL, connect_timeout=3).close()
            _pg_error.append(None)
        except Exception as exc:
            _pg_error.append(f"{type(exc).__name__}: {exc}")
    if _pg_error[0] is not None:
        reason = f"PostgreSQL is not reachable at {PG_URL} ({_pg_error[0]})"
        if IN_CI:
            pytest.fail(reason + " and CI=true, where the PostgreSQL tests must run", pytrace=False)
        pytest.skip(reason)
    return PG_URL


def drop_schema(schema: str) -> None:
    """Drop a test schema and everything in it."""
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


REDIS_URL = os.environ.get("TOKENOMY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_redis_error: list[str | None] = []


def require_redis() -> str:
    """The test Redis URL; skips (fails under CI=true) when it cannot be reached. Tests use
    their own key prefix and delete only their own keys (never FLUSHDB: the server is shared)."""
    if not _redis_error:
        try:
            import redis

            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
            _redis_error.append(None)
        except Exception as exc:
            _redis_error.append(f"{type(exc).__name__}: {exc}")
    if _redis_error[0] is not None:
        reason = f"Redis is not reachable at {REDIS_URL} ({_redis_error[0]})"
        if IN_CI:
            pytest.fail(reason + " and CI=true, where the Redis tests must run", pytrace=False)
        pytest.skip(reason)
    return REDIS_URL


def drop_redis_prefix(prefix: str) -> None:
    """Delete every key under ``prefix:`` (a test's own namespace)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])
    client.close()
