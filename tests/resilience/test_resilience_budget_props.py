"""Property-based: the retry budget never lets more retries through in any window than
max(ratio × requests, min_retries), whatever the sequence of requests, retries and waits;
and the same sequence gets the same answers from the in-memory budget and the Redis one."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services import drop_redis_prefix, require_redis
from tokenomy import RedisRetryBudget, RetryBudget
from tokenomy.testing import FakeClock

Step = tuple[str, float]
steps = st.lists(
    st.tuples(st.sampled_from(["request", "retry"]), st.floats(0, 20, allow_nan=False)),
    max_size=120,
)


def play(budget: RetryBudget, clock: FakeClock, ops: list[Step]) -> list[bool]:
    answers = []
    for what, gap in ops:
        clock.advance(gap)
        if what == "request":
            budget.record_request()
        else:
            answers.append(budget.try_retry())
    return answers


@given(ops=steps, ratio=st.sampled_from([0.0, 0.05, 0.2, 1.0]), floor=st.integers(0, 5))
@settings(max_examples=150, deadline=None)
def test_never_more_retries_than_allowed(ops: list[Step], ratio: float, floor: int) -> None:
    """Replaying the granted retries: at every grant, the retries granted in the window
    (including it) are at most max(ratio × requests in the window, floor)."""
    clock = FakeClock(start=0.0)
    budget = RetryBudget(ratio=ratio, min_retries=floor, window=30, clock=clock)
    requests: list[float] = []
    granted: list[float] = []
    for what, gap in ops:
        clock.advance(gap)
        now = clock()
        if what == "request":
            budget.record_request()
            requests.append(now)
        elif budget.try_retry():
            granted.append(now)
            in_window = [t for t in granted if t > now - 30]
            reqs = [t for t in requests if t > now - 30]
            assert len(in_window) <= max(ratio * len(reqs), floor)


@pytest.mark.redis
@given(ops=steps)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_redis_budget_agrees_with_memory(ops: list[Step]) -> None:
    """The Redis budget's Lua rule answers every step as the in-memory one does."""
    url = require_redis()
    prefix = f"tokenomy-test:retry-budget:{uuid.uuid4().hex}"
    try:
        c1, c2 = FakeClock(start=1_700_000_000.0), FakeClock(start=1_700_000_000.0)
        memory = RetryBudget(ratio=0.1, min_retries=2, window=30, clock=c1)
        redis = RedisRetryBudget(url, prefix=prefix, ratio=0.1, min_retries=2, window=30,
                                 clock=c2)
        assert play(memory, c1, ops) == play(redis, c2, ops)
    finally:
        drop_redis_prefix(prefix)
