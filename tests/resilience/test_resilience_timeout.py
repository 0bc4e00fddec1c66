"""Retry's own per-operation timeouts: ``attempt_timeout`` (one attempt) and ``total_timeout``
(the whole call, waits included), handed to the real SDK clients' per-request ``timeout``
against the simulator's held connections, with the waits on a fake clock."""

from __future__ import annotations

import asyncio
import math
import random
import time
from typing import Any

import openai
import pytest
from sdk_senders import openai_asend, openai_send, request

from tokenomy import ConfigurationError, MemoryLedger, ModelRequest, ModelResponse, Pipeline, Retry
from tokenomy.testing import FakeClock, Fault, ProviderSimulator


def retry(clock: FakeClock, **kw: Any) -> Retry:
    return Retry(clock=clock, sleep=clock.sleep, async_sleep=clock.asleep,
                 rng=random.Random(5), **kw)


def test_attempt_timeout_cuts_a_held_attempt(provider_simulator: ProviderSimulator) -> None:
    """A request held 120 s by the simulator, attempt_timeout=3 (the client's own is 120 s):
    the SDK raises APITimeoutError after ~3 s, the attempt is recorded and retried, the second
    attempt answers; the whole call takes far less than the hold (generous bounds: the
    machine may be loaded)."""
    sim = provider_simulator
    sim.inject(Fault.timeout(hold=120.0), times=1)
    clock, ledger = FakeClock(), MemoryLedger()
    started = time.monotonic()
    response = Pipeline([retry(clock, attempt_timeout=3.0)], ledger=ledger).call(
        request(), openai_send(sim, timeout=120.0))
    assert response.text and 3.0 <= time.monotonic() - started < 60.0
    assert sorted((r.attempt, r.error) for r in ledger.query()) == [
        (1, "APITimeoutError"), (2, None)]


def test_async_attempt_timeout(provider_simulator: ProviderSimulator) -> None:
    """The same on the async path (AsyncOpenAI, plus asyncio.timeout as a backstop)."""
    sim = provider_simulator
    sim.inject(Fault.timeout(hold=120.0), times=1)
    clock, ledger = FakeClock(), MemoryLedger()
    started = time.monotonic()
    response = asyncio.run(Pipeline([retry(clock, attempt_timeout=3.0)], ledger=ledger).acall(
        request(), openai_asend(sim, timeout=120.0)))
    assert response.text and 3.0 <= time.monotonic() - started < 60.0
    assert sorted((r.attempt, r.error) for r in ledger.query()) == [
        (1, "APITimeoutError"), (2, None)]


def test_total_timeout_shrinks_attempts_and_stops(provider_simulator: ProviderSimulator) -> None:
    """total_timeout=30 s, attempt_timeout=15 s, 429s asking for 12 s each (fake clock): the
    attempts get timeouts of 15, 15 (30 - 12 = 18 left) and 6 (30 - 24 left); the next wait
    would end at 36 s, past the total, so the call gives up, noted, after 3 attempts."""
    sim = provider_simulator
    sim.inject(Fault.rate_limit(retry_after=12), times=None)
    clock, ledger = FakeClock(), MemoryLedger()
    seen: list[float] = []
    send = openai_send(sim)

    def spy(req: ModelRequest) -> ModelResponse:
        seen.append(req.params["timeout"])
        return send(req)  # type: ignore[no-any-return]

    policy = retry(clock, attempt_timeout=15, total_timeout=30, max_attempts=10)
    with pytest.raises(openai.RateLimitError) as info:
        Pipeline([policy], ledger=ledger).call(request(), spy)
    assert seen == [15.0, 15.0, 6.0] and clock.sleeps == [12.0, 12.0]
    assert len(ledger.query()) == 3 and policy.gave_up["total_timeout"] == 1
    assert any("total_timeout=30s" in n for n in info.value.__notes__)


def test_no_timeout_leaves_the_request_alone(provider_simulator: ProviderSimulator) -> None:
    """Without attempt/total timeouts the request carries no timeout param (the client's own
    timeout applies, as before)."""
    sim = provider_simulator
    seen: list[Any] = []
    send = openai_send(sim)

    def spy(req: ModelRequest) -> ModelResponse:
        seen.append(req.params.get("timeout"))
        return send(req)  # type: ignore[no-any-return]

    Pipeline([retry(FakeClock())]).call(request(), spy)
    assert seen == [None]


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf])
def test_bad_timeouts_are_refused(bad: float) -> None:
    """A timeout that is not a positive finite number of seconds is refused when built."""
    with pytest.raises(ConfigurationError, match="attempt_timeout"):
        Retry(attempt_timeout=bad)
    with pytest.raises(ConfigurationError, match="total_timeout"):
        Retry(total_timeout=bad)


def test_like_sdk_matches_the_clients_rules() -> None:
    """Retry.like_sdk(2): 3 attempts for retryable and ambiguous failures alike, backoff
    capped at 8 s from 0.5 s, Retry-After up to 60 s, a budget that never refuses."""
    policy = Retry.like_sdk(2)
    assert (policy.max_attempts, policy.ambiguous_attempts) == (3, 3)
    assert (policy.initial_wait, policy.max_wait, policy.max_wait_retry_after) == (0.5, 8.0, 60.0)
    assert all(policy.budget.try_retry() for _ in range(1000))
