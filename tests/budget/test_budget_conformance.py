"""One conformance suite over the three budget stores: reserve caps and refuses, settle
replaces a reservation with the real cost, expired reservations stop holding the budget,
alerts fire once per window, and status reads it all back."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tokenomy import BudgetStore
from tokenomy.budget._store import Line, Refusal, Reservation


def line(limit_nanos: int | None = 1_000_000, limit_tokens: int | None = None, **kw: Any) -> Line:
    kw.setdefault("budget", "b")
    kw.setdefault("scope", "")
    kw.setdefault("buckets", ("day:2026-12-02T00",))
    kw.setdefault("expire_at", time.time() + 3600)
    return Line(limit_nanos=limit_nanos, limit_tokens=limit_tokens, **kw)


def reserve(store: BudgetStore, lines: list[Line], **kw: Any) -> Reservation | Refusal:
    args: dict[str, Any] = {
        "fixed_nanos": 1000, "rate_pico": 2_000_000, "fixed_tokens": 10,
        "min_out": 1, "max_out": 100, "ttl": 60.0,
    }
    args.update(kw)
    return store.reserve(uuid.uuid4().hex, lines, **args)


def held(store: BudgetStore) -> tuple[int, int, int]:
    rows = store.counters()
    return (
        sum(r.spent_nanos for r in rows),
        sum(r.reserved_nanos for r in rows),
        sum(r.open_reservations for r in rows),
    )


def test_reserve_holds_the_worst_case_and_settle_replaces_it(store: BudgetStore) -> None:
    """A reservation holds fixed + max_out * rate (rounded up to a nano-dollar); settling it
    leaves only the real cost and no open reservation."""
    r = reserve(store, [line()])
    assert isinstance(r, Reservation)
    assert (r.out_tokens, r.nanos, r.tokens) == (100, 1000 + 200_000, 110)
    assert held(store) == (0, 201_000, 1)
    store.settle(r, nanos=12_345, tokens=42)
    assert held(store) == (12_345, 0, 0)
    rows = store.counters()
    assert [(x.budget, x.scope, x.bucket, x.spent_tokens) for x in rows] == [
        ("b", "", "day:2026-12-02T00", 42)
    ]


def test_output_tokens_are_capped_to_what_is_left(store: BudgetStore) -> None:
    """With less left than max_out would cost, the reservation shrinks to the largest output
    that fits (never over the limit), and what it holds fits exactly."""
    r = reserve(store, [line(limit_nanos=51_000)])  # 1000 fixed + 25 tokens at 2000 nanos each
    assert isinstance(r, Reservation)
    assert r.out_tokens == 25 and r.nanos == 51_000
    again = reserve(store, [line(limit_nanos=51_000)])
    assert isinstance(again, Refusal)
    assert (again.unit, again.limit, again.spent, again.reserved) == ("usd", 51_000, 0, 51_000)


def test_fractional_rates_round_up(store: BudgetStore) -> None:
    """A rate of 1.5 nano-dollars per token holds 3 nano-dollars for 2 tokens and refuses a
    third that would pass the limit by half a nano-dollar."""
    r = reserve(store, [line(limit_nanos=3)], fixed_nanos=0, rate_pico=1500, max_out=3)
    assert isinstance(r, Reservation) and (r.out_tokens, r.nanos) == (2, 3)


def test_refused_below_min_out_and_nothing_held(store: BudgetStore) -> None:
    """When not even min_out tokens fit, nothing is held on any line."""
    big, small = line(budget="big", limit_nanos=10**9), line(budget="small", limit_nanos=5000)
    refusal = reserve(store, [big, small], min_out=10)
    assert isinstance(refusal, Refusal) and refusal.index == 1
    assert held(store) == (0, 0, 0)


def test_every_line_is_reserved_together(store: BudgetStore) -> None:
    """Two budgets on one call: the tighter one sets the output cap and both hold the same."""
    a, b = line(budget="a", limit_nanos=10**9), line(budget="b", limit_nanos=41_000)
    r = reserve(store, [a, b])
    assert isinstance(r, Reservation) and r.out_tokens == 20
    assert {x.budget: x.reserved_nanos for x in store.counters()} == {"a": 41_000, "b": 41_000}


def test_token_limits(store: BudgetStore) -> None:
    """A token limit caps output tokens too and refuses once the prompt does not fit."""
    r = reserve(store, [line(limit_nanos=None, limit_tokens=50)])
    assert isinstance(r, Reservation) and (r.out_tokens, r.tokens) == (40, 50)
    store.settle(r, nanos=0, tokens=30)
    r2 = reserve(store, [line(limit_nanos=None, limit_tokens=50)])
    assert isinstance(r2, Reservation) and r2.out_tokens == 10
    r3 = reserve(store, [line(limit_nanos=None, limit_tokens=50)])
    assert isinstance(r3, Refusal) and r3.unit == "tokens" and (r3.spent, r3.reserved) == (30, 20)


def test_release_frees_everything(store: BudgetStore) -> None:
    """Settling at zero (a failed call) gives the whole reservation back."""
    r = reserve(store, [line(limit_nanos=201_000)])
    assert isinstance(r, Reservation)
    assert isinstance(reserve(store, [line(limit_nanos=201_000)]), Refusal)
    store.settle(r, nanos=0, tokens=0)
    assert isinstance(reserve(store, [line(limit_nanos=201_000)]), Reservation)


def test_expired_reservations_stop_holding_the_budget(store: BudgetStore) -> None:
    """A reservation never settled (its worker died) lapses after its time to live; a late
    settle of it still counts what was spent, once."""
    r = reserve(store, [line(limit_nanos=201_000)], ttl=0.3)
    assert isinstance(r, Reservation)
    assert isinstance(reserve(store, [line(limit_nanos=201_000)], ttl=0.3), Refusal)
    time.sleep(0.5)
    assert held(store)[1:] == (0, 0)
    r2 = reserve(store, [line(limit_nanos=201_000)])
    assert isinstance(r2, Reservation)
    store.settle(r, nanos=500, tokens=1)
    store.settle(r2, nanos=700, tokens=1)
    assert held(store) == (1200, 0, 0)


def test_spend_counts_across_every_bucket_of_a_window(store: BudgetStore) -> None:
    """A rolling window counts the spend of all its buckets and writes into the first."""
    old = line(buckets=("r:1",), limit_nanos=300_000)
    r = reserve(store, [old])
    assert isinstance(r, Reservation)
    store.settle(r, nanos=200_000, tokens=5)
    now = line(buckets=("r:2", "r:1"), limit_nanos=300_000)
    r2 = reserve(store, [now])
    assert isinstance(r2, Reservation) and r2.out_tokens == 49  # (300k - 200k - 1k) / 2k
    later = line(buckets=("r:3", "r:2"), limit_nanos=300_000)
    r3 = reserve(store, [later])  # r:1 left the window: only r2's hold counts
    assert isinstance(r3, Reservation) and r3.out_tokens == 100


def test_alerts_fire_once_per_threshold_and_bucket(store: BudgetStore) -> None:
    """Each threshold is reported by the first settle that reaches it, never again in that
    bucket, and afresh in the next bucket."""
    ln = line(limit_nanos=10**6, alert_at=(500_000, 750_000, 900_000))
    fired = []
    for cost in (400_000, 200_000, 300_000, 50_000):
        r = reserve(store, [ln], fixed_nanos=0, rate_pico=0)
        assert isinstance(r, Reservation)
        fired.append([(j, spent) for _, j, spent in store.settle(r, nanos=cost, tokens=0).fired])
    assert fired == [[], [(0, 600_000)], [(1, 900_000), (2, 900_000)], []]
    nxt = line(limit_nanos=10**6, alert_at=(500_000,), buckets=("day:2026-12-03T00",))
    r = reserve(store, [nxt], fixed_nanos=0, rate_pico=0)
    assert isinstance(r, Reservation)
    assert [j for _, j, _ in store.settle(r, nanos=600_000, tokens=0).fired] == [0]


def test_definitions_are_kept_and_replaced(store: BudgetStore) -> None:
    """define() records a budget's definition for status; a second define replaces it."""
    store.define("user:day", {"limit_usd": "1", "window": "day"})
    store.define("user:day", {"limit_usd": "2", "window": "day"})
    store.define("global:month", {"limit_usd": "9", "window": "month"})
    assert store.definitions() == {
        "global:month": {"limit_usd": "9", "window": "month"},
        "user:day": {"limit_usd": "2", "window": "day"},
    }


def test_a_huge_limit_and_a_tiny_rate(store: BudgetStore) -> None:
    """Room for far more than max_out tokens (a $1M limit, a rate of one pico-dollar): the
    reservation is max_out, found at once (the Redis script once spun here, on a division
    too large for a double to correct step by step)."""
    r = reserve(store, [line(limit_nanos=10**15)], fixed_nanos=1, rate_pico=1, max_out=10)
    assert isinstance(r, Reservation) and (r.out_tokens, r.nanos) == (10, 2)
