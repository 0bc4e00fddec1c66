"""Budget stores: reserve + settle (one budgeted call's store work) per second, per store.

Goals on this 2-core machine: in-memory >= 50,000/s, SQLite >= 2,000/s, Redis over loopback
>= 5,000/s. The floor, measured in the same run: one plain Redis ``INCRBYFLOAT`` round trip
(redis-py, same server), the least a networked counter can cost.

Each case does one budgeted call's store work as ``Budget`` does it: ``reserve``, then
``settle_later``. The Redis store carries the queued settle in front of the next reserve, in
the same script and round trip, so a reserve + settle is one round trip in steady state; the
row "redis, settle now" settles in a round trip of its own (``settle``), for comparison.

Interleaved (see ``_interleave.py``: this CPU changes speed every few seconds): every
repetition runs one short timed block of each case in a fresh random order, and each case's
rate is the median over repetitions of its blocks. Wall time (Redis and SQLite wait on I/O).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokenomy.budget import BudgetStore, MemoryBudgetStore, RedisBudgetStore, SQLiteBudgetStore
from tokenomy.budget._store import Line

REDIS_URL = "redis://127.0.0.1:6379/0"
GOALS = {"memory": 50_000, "sqlite": 2_000, "redis": 5_000}


def _line() -> Line:
    return Line(
        budget="bench",
        scope="user=alice",
        buckets=("day:2026-12-02T00",),
        expire_at=time.time() + 3600,
        limit_nanos=10**15,
        alert_at=(5 * 10**14, 75 * 10**13, 9 * 10**14),
    )


def _reserve_settle(store: BudgetStore, *, now: bool = False) -> Callable[[], None]:
    """One budgeted call's store work as ``Budget`` does it: reserve, then ``settle_later``
    (Redis: carried by the next reserve's round trip); ``now=True``: ``settle`` in a round
    trip of its own, for comparison."""
    lines = [_line()]
    counter = [0]

    def op() -> None:
        counter[0] += 1
        held = store.reserve(
            f"r{counter[0]}", lines, fixed_nanos=150_000, rate_pico=600_000,
            fixed_tokens=1000, min_out=16, max_out=500, ttl=600.0,
        )
        if now:
            store.settle(held, nanos=200_000, tokens=1200)  # type: ignore[arg-type]
        else:
            store.settle_later(held, nanos=200_000, tokens=1200)  # type: ignore[arg-type]

    return op


def _incrbyfloat(client: Any, key: str) -> Callable[[], None]:
    def op() -> None:
        client.incrbyfloat(key, 0.000123)

    return op


def _block(op: Callable[[], None], seconds: float) -> float:
    """Ops per second of one block of about ``seconds``."""
    n = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while True:
        for _ in range(10):
            op()
        n += 10
        now = time.perf_counter()
        if now >= end:
            return n / (now - t0)


def run(repetitions: int = 40, block_s: float = 0.03, seed: int = 0) -> list[dict[str, Any]]:
    """One row per store and one for the floor (module docstring)."""
    import redis

    prefix = f"tokenomy-bench:budget:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(REDIS_URL)
    tmp = tempfile.TemporaryDirectory()
    stores: dict[str, BudgetStore] = {
        "memory": MemoryBudgetStore(),
        "sqlite": SQLiteBudgetStore(Path(tmp.name) / "budget.db"),
        "redis": RedisBudgetStore(REDIS_URL, prefix=prefix),
    }
    stores["redis, settle now"] = RedisBudgetStore(REDIS_URL, prefix=f"{prefix}:now")
    cases: dict[str, Callable[[], None]] = {
        k: _reserve_settle(s, now=k.endswith("now")) for k, s in stores.items()
    }
    cases["floor: redis INCRBYFLOAT"] = _incrbyfloat(client, f"{prefix}:floor")
    rates: dict[str, list[float]] = {k: [] for k in cases}
    rng = random.Random(seed)
    names = list(cases)
    try:
        for op in cases.values():
            _block(op, block_s)  # warm up
        for _ in range(repetitions):
            rng.shuffle(names)
            for name in names:
                rates[name].append(_block(cases[name], block_s))
    finally:
        for s in stores.values():
            s.close()  # Redis: sends the settle still queued
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        tmp.cleanup()
    floor = statistics.median(rates["floor: redis INCRBYFLOAT"])
    rows = []
    for name in ("memory", "sqlite", "redis", "redis, settle now", "floor: redis INCRBYFLOAT"):
        rate = statistics.median(rates[name])
        goal = GOALS.get(name)
        rows.append(
            {
                "case": name if name.startswith("floor") else f"reserve+settle: {name}",
                "per_second": round(rate),
                "us_per_op": round(1e6 / rate, 1),
                "vs_floor": f"{rate / floor:.2f}x",
                "goal": f">= {goal:,}/s" if goal else "-",
                "meets_goal": ("yes" if rate >= goal else "NO") if goal else "-",
            }
        )
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _table import print_table

    print_table("Budget stores: reserve + settle per second (floor: one Redis INCRBYFLOAT)", run())
