"""``tokenomy budget status``: reads a SQLite or Redis budget store without changing it,
as a table or JSON; a missing or unreachable store is one clear line and exit code 1."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from services import drop_redis_prefix, require_redis
from tokenomy import Budget, ModelRequest, Pipeline, open_budget_store
from tokenomy.cli import main
from tokenomy.testing import MockSender


def spend(url: str) -> None:
    """Two users' calls under a per-user daily budget, one call left open (a stream)."""
    store = open_budget_store(url)
    pipe = Pipeline([Budget(limit_usd="0.5", scope="user", store=store)])
    send = MockSender(lambda r: "word " * 20)
    req = ModelRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    pipe.call(req.with_tags(user="alice"), send)
    pipe.call(req.with_tags(user="bob"), send)
    pipe.call(req.with_tags(user="bob").replace(stream=True), send)  # never read: open
    store.close()  # the writer's last connection: its WAL checkpoint happens now, not later


def check(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget", "status", "--store", url, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {r["scope"]: r for r in doc["budgets"]}
    assert set(rows) == {"user=alice", "user=bob"}
    alice, bob = rows["user=alice"], rows["user=bob"]
    assert alice["limit_usd"] == "0.5" and Decimal(alice["spent_usd"]) > 0
    assert alice["open_reservations"] == 0 and bob["open_reservations"] == 1
    assert Decimal(bob["remaining_usd"]) == Decimal("0.5") - Decimal(bob["spent_usd"]) - Decimal(bob["reserved_usd"])
    assert bob["resets_at"].endswith("T00:00:00+00:00") and bob["window"] == "day"
    assert main(["budget", "status", "--store", url]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["budget", "scope", "window"]
    assert [line.split()[1] for line in table[1:]] == ["user=alice", "user=bob"]


def test_status_of_a_sqlite_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """JSON and table output of a SQLite store; the file is not modified by reading."""
    db = tmp_path / "budgets.db"
    spend(f"sqlite:///{db}")
    before = db.stat().st_mtime_ns
    check(f"sqlite:///{db}", capsys)
    assert db.stat().st_mtime_ns == before


@pytest.mark.redis
def test_status_of_a_redis_store(capsys: pytest.CaptureFixture[str]) -> None:
    """The same from the real Redis server, under a prefix of the test's own."""
    prefix = f"tokenomy-test:budget:{uuid.uuid4().hex}"
    url = f"{require_redis()}?prefix={prefix}"
    try:
        spend(url)
        check(url, capsys)
    finally:
        drop_redis_prefix(prefix)


def test_missing_and_unreachable_stores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file is not created; an unreachable server and a bad URL are one line each."""
    missing = tmp_path / "none.db"
    assert main(["budget", "status", "--store", f"sqlite:///{missing}"]) == 1
    assert not missing.exists()
    assert main(["budget", "status", "--store", "redis://127.0.0.1:1/0"]) == 1
    assert main(["budget", "status", "--store", "ftp://x"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("tokenomy budget status: ") for line in err)
    assert "no such file" in err[0] and "Connection refused" in err[1]
