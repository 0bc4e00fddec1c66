"""Faults: a worker killed mid-call leaves a reservation that lapses after its time to live;
an unreachable store refuses calls with a clear error (fail-closed) or lets them through,
logged, when fail_open is set; never a silent pass."""

from __future__ import annotations

import logging
import multiprocessing
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from services import drop_redis_prefix, require_redis
from tokenomy import (
    Budget,
    BudgetStoreError,
    ModelRequest,
    Pipeline,
    RedisBudgetStore,
    SQLiteBudgetStore,
    budget_status,
    open_budget_store,
)
from tokenomy.testing import MockSender

#: nothing listens on port 1 of loopback
DEAD_REDIS = "redis://127.0.0.1:1/0"


def request() -> ModelRequest:
    return ModelRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])


def killed_mid_call(store_url: str) -> None:
    import budget_workers

    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    proc = ctx.Process(target=budget_workers.reserve_and_die, args=(store_url, 2.0, started))
    proc.start()
    try:
        assert started.wait(60), "the worker never reached its call"
        [status] = budget_status(open_budget_store(store_url))
        assert status.open_reservations == 1 and status.reserved_usd > 0
    finally:
        proc.kill()
        proc.join(10)
    deadline = time.time() + 10
    while time.time() < deadline:
        [status] = budget_status(open_budget_store(store_url))
        if status.open_reservations == 0:
            break
        time.sleep(0.2)
    assert status.open_reservations == 0 and status.reserved_usd == Decimal(0)
    # and the whole budget can be reserved again
    import budget_workers as bw

    big = ModelRequest(model=bw.MODEL, messages=[{"role": "user", "content": "hi"}],
                       params={"max_tokens": 16000})
    send = MockSender()
    Pipeline([bw.budget(store_url, reservation_ttl=2.0)]).call(big, send)
    assert send.requests[0].max_tokens == 16000


def test_killed_worker_reservation_lapses_sqlite(tmp_path: Path) -> None:
    """SQLite: a process killed while its call is in flight holds the budget only until
    its reservation's time to live (2 s here) passes."""
    killed_mid_call(f"sqlite:///{tmp_path / 'budget.db'}")


@pytest.mark.redis
def test_killed_worker_reservation_lapses_redis() -> None:
    """Redis: the same, with the expiry decided by the server's clock."""
    url = require_redis()
    prefix = f"tokenomy-test:budget:{uuid.uuid4().hex}"
    try:
        killed_mid_call(f"{url}?prefix={prefix}")
    finally:
        drop_redis_prefix(prefix)


def test_unreachable_redis_refuses_the_call() -> None:
    """Fail-closed (the default): BudgetStoreError naming the store, nothing sent."""
    send = MockSender()
    budget = Budget(limit_usd=1, store=RedisBudgetStore(DEAD_REDIS, timeout=0.5, prefix="t"))
    with pytest.raises(BudgetStoreError, match=r"redis://127\.0\.0\.1:1/0.*unavailable"):
        Pipeline([budget]).call(request(), send)
    assert send.calls == 0


def test_unreachable_redis_fail_open_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """fail_open=True: the call goes through unbudgeted, with a warning each time."""
    send = MockSender()
    budget = Budget(limit_usd=1, fail_open=True,
                    store=RedisBudgetStore(DEAD_REDIS, timeout=0.5, prefix="t"))
    with caplog.at_level(logging.WARNING, logger="tokenomy.budget"):
        assert Pipeline([budget]).call(request(), send).text == "ok"
        Pipeline([budget]).call(request(), send)
    assert send.calls == 2
    assert caplog.text.count("store unavailable, call let through unbudgeted") == 2


@pytest.mark.redis
def test_redis_lost_after_reserving_logs_and_the_reservation_lapses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The store failing at settle time does not break the answered call: it is logged and
    the reservation lapses after its time to live."""
    url = require_redis()
    prefix = f"tokenomy-test:budget:{uuid.uuid4().hex}"
    store = RedisBudgetStore(url, prefix=prefix, settle_delay=60)  # flushed by hand below
    try:
        budget = Budget(limit_usd=1, store=store, reservation_ttl=1.0)
        real_settle = store._settle

        def broken(*args: object, **kw: object) -> object:
            import redis

            raise redis.ConnectionError("lost")

        store._settle = broken
        with caplog.at_level(logging.ERROR, logger="tokenomy.budget"):
            assert Pipeline([budget]).call(request(), MockSender()).text == "ok"
            store.flush()  # the queued settle's round trip fails
        assert "could not settle 1 call(s)" in caplog.text
        store._settle = real_settle
        time.sleep(1.2)
        [status] = budget_status(store)
        assert status.open_reservations == 0
    finally:
        drop_redis_prefix(prefix)


def test_sqlite_store_on_an_unusable_path(tmp_path: Path) -> None:
    """A SQLite store whose file cannot be created refuses with BudgetStoreError."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    budget = Budget(limit_usd=1, store=SQLiteBudgetStore(blocker / "budget.db"))
    with pytest.raises(BudgetStoreError, match="unavailable"):
        Pipeline([budget]).call(request(), MockSender())
