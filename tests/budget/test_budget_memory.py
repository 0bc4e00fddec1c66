"""The in-memory store forgets counters of past windows, and per-request budgets keep
nothing in any store."""

from __future__ import annotations

import time

from tokenomy import Budget, MemoryBudgetStore, ModelRequest, Pipeline, budget_status
from tokenomy.budget._memory import _SWEEP_EVERY
from tokenomy.budget._store import Line, Reservation
from tokenomy.testing import MockSender


def test_counters_of_past_windows_are_forgotten() -> None:
    """A counter whose window ended (and holds nothing) is dropped by the periodic sweep, so a
    long-running process with per-user daily budgets does not grow without end."""
    store = MemoryBudgetStore()
    past = Line(budget="b", scope="user=old", buckets=("day:1",), expire_at=time.time() + 0.2,
                limit_nanos=10**9)
    r = store.reserve("r0", [past], fixed_nanos=1, rate_pico=1, fixed_tokens=1, min_out=1,
                      max_out=1, ttl=60)
    assert isinstance(r, Reservation)
    store.settle(r, nanos=5, tokens=1)
    time.sleep(0.3)
    now = Line(budget="b", scope="user=new", buckets=("day:2",), expire_at=time.time() + 60,
               limit_nanos=10**12)
    for i in range(_SWEEP_EVERY):
        held = store.reserve(f"r{i + 1}", [now], fixed_nanos=1, rate_pico=1, fixed_tokens=1,
                             min_out=1, max_out=1, ttl=60)
        assert isinstance(held, Reservation)
        store.settle(held, nanos=1, tokens=1)
    assert set(store._counters) == {"b|user=new|day:2"}


def test_per_request_budgets_keep_nothing() -> None:
    """window='request' caps each call alone and writes nothing to its store."""
    store = MemoryBudgetStore()
    send = MockSender(lambda r: "word " * 30)
    pipe = Pipeline([Budget(limit_usd="0.00002", window="request", store=store)])
    for _ in range(3):
        pipe.call(ModelRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]), send)
    assert budget_status(store) == [] and store.definitions() == {}
    assert all(r.max_tokens is not None and r.max_tokens < 40 for r in send.requests)
