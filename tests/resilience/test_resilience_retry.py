"""Retry against the provider simulator through the real openai/anthropic SDK clients: for
each injected fault the expected attempts and waits (fake clock), Retry-After honoured, no
retry on 400/401, every failed attempt a ledger record with its error class and attempt."""

from __future__ import annotations

import asyncio
import random

import anthropic
import openai
import pytest
from sdk_senders import anthropic_send, openai_asend, openai_send, request

from tokenomy import MemoryLedger, Pipeline, Retry, RetryBudget, classify
from tokenomy.testing import FakeClock, Fault, ProviderSimulator


def retry(clock: FakeClock, **kw: object) -> Retry:
    return Retry(clock=clock, sleep=clock.sleep, async_sleep=clock.asleep,
                 rng=random.Random(7), **kw)  # type: ignore[arg-type]


def records(ledger: MemoryLedger) -> list[tuple[int, str | None]]:
    return sorted((r.attempt, r.error) for r in ledger.query())


def test_429_retry_after_is_honoured(provider_simulator: ProviderSimulator) -> None:
    """Two 429s with Retry-After 1.5 s: three attempts, two waits of exactly 1.5 s, two
    failed attempts recorded (RateLimitError, attempts 1 and 2) and the answer (attempt 3)."""
    sim = provider_simulator
    sim.inject(Fault.rate_limit(retry_after=1.5), times=2)
    clock, ledger = FakeClock(), MemoryLedger()
    response = Pipeline([retry(clock)], ledger=ledger).call(request(), openai_send(sim))
    assert response.attempt == 3 and response.text
    assert clock.sleeps == [1.5, 1.5]
    assert len(sim.requests) == 3
    assert records(ledger) == [(1, "RateLimitError"), (2, "RateLimitError"), (3, None)]


def test_503_backs_off_with_full_jitter(provider_simulator: ProviderSimulator) -> None:
    """503s without Retry-After: waits drawn from [0, initial × 2^(n-1)] (full jitter), and
    the call gives up after max_attempts with the SDK's own error, noted."""
    sim = provider_simulator
    sim.inject(Fault.unavailable(), times=None)
    clock, ledger = FakeClock(), MemoryLedger()
    policy = retry(clock, max_attempts=4, initial_wait=1.0)
    with pytest.raises(openai.InternalServerError) as info:
        Pipeline([policy], ledger=ledger).call(request(), openai_send(sim))
    assert len(clock.sleeps) == 3
    for n, wait in enumerate(clock.sleeps, start=1):
        assert 0.0 <= wait <= 1.0 * 2 ** (n - 1)
    assert len(set(clock.sleeps)) == 3  # jittered, not a fixed ladder
    assert len(sim.requests) == 4
    assert records(ledger) == [(n, "InternalServerError") for n in (1, 2, 3, 4)]
    assert any("gave up after 4 attempts" in n for n in info.value.__notes__)


@pytest.mark.parametrize(("status", "error"), [(400, openai.BadRequestError),
                                               (401, openai.AuthenticationError),
                                               (403, openai.PermissionDeniedError),
                                               (404, openai.NotFoundError)])
def test_client_errors_are_never_retried(
    provider_simulator: ProviderSimulator, status: int, error: type[Exception]
) -> None:
    """400/401/403/404: one attempt, no wait, the SDK's error raised at once with a note."""
    sim = provider_simulator
    sim.inject(Fault.error(status), times=None)
    clock, ledger = FakeClock(), MemoryLedger()
    with pytest.raises(error) as info:
        Pipeline([retry(clock)], ledger=ledger).call(request(), openai_send(sim))
    assert clock.sleeps == [] and len(sim.requests) == 1
    assert records(ledger) == [(1, error.__name__)]
    assert any("not retried" in n for n in info.value.__notes__)


def test_500_is_retried_cautiously(provider_simulator: ProviderSimulator) -> None:
    """A 500 (ambiguous) is retried up to ambiguous_attempts (2), not max_attempts (5)."""
    sim = provider_simulator
    sim.inject(Fault.server_error(500), times=None)
    clock = FakeClock()
    with pytest.raises(openai.InternalServerError):
        Pipeline([retry(clock, max_attempts=5)]).call(request(), openai_send(sim))
    assert len(sim.requests) == 2 and len(clock.sleeps) == 1


def test_timeout_is_retried(provider_simulator: ProviderSimulator) -> None:
    """A held connection past the client's timeout (APITimeoutError) is retried; the answer
    comes on the second attempt."""
    sim = provider_simulator
    sim.inject(Fault.timeout(hold=5.0), times=1)
    clock, ledger = FakeClock(), MemoryLedger()
    response = Pipeline([retry(clock)], ledger=ledger).call(request(), openai_send(sim, 0.3))
    assert response.attempt == 2
    assert records(ledger) == [(1, "APITimeoutError"), (2, None)]


def test_disconnect_and_malformed_body_are_retried(provider_simulator: ProviderSimulator) -> None:
    """A dropped connection (retryable) then a body that is not JSON (ambiguous): both
    retried, the third attempt answers; each failure is classified as such."""
    sim = provider_simulator
    sim.inject(Fault.disconnect(), times=1)
    sim.inject(Fault.malformed_json(), times=1)
    clock, ledger = FakeClock(), MemoryLedger()
    policy = retry(clock, ambiguous_attempts=3)
    response = Pipeline([policy], ledger=ledger).call(request(), openai_send(sim))
    assert response.attempt == 3
    kinds = sorted(policy.failures)
    assert kinds[0].startswith("ambiguous:") and kinds[1] == "retryable:connection", kinds
    assert [e is None for _, e in records(ledger)] == [False, False, True]


def test_max_time_stops_before_a_long_wait(provider_simulator: ProviderSimulator) -> None:
    """A Retry-After of 30 s with max_time=10 s: no wait begun, one attempt, a note."""
    sim = provider_simulator
    sim.inject(Fault.rate_limit(retry_after=30), times=None)
    clock = FakeClock()
    with pytest.raises(openai.RateLimitError) as info:
        Pipeline([retry(clock, max_time=10)]).call(request(), openai_send(sim))
    assert clock.sleeps == [] and len(sim.requests) == 1
    assert any("max_time" in n for n in info.value.__notes__)


def test_too_long_retry_after_gives_up(provider_simulator: ProviderSimulator) -> None:
    """Retry-After 90 s over max_wait_retry_after=60 (max_time 300): no early retry, no
    wait, one attempt, a note naming the wait asked for."""
    sim = provider_simulator
    sim.inject(Fault.rate_limit(retry_after=90), times=None)
    clock = FakeClock()
    with pytest.raises(openai.RateLimitError) as info:
        Pipeline([retry(clock, max_time=300)]).call(request(), openai_send(sim))
    assert clock.sleeps == [] and len(sim.requests) == 1
    assert any("asked to wait 90s" in n for n in info.value.__notes__)


def test_anthropic_overloaded_is_retried(provider_simulator: ProviderSimulator) -> None:
    """Anthropic's 529 overloaded through the anthropic SDK: retryable, retried."""
    sim = provider_simulator
    sim.inject(Fault.overloaded(), times=1)
    clock, ledger = FakeClock(), MemoryLedger()
    req = request("claude-haiku-4-5", "anthropic")
    response = Pipeline([retry(clock)], ledger=ledger).call(req, anthropic_send(sim))
    assert response.attempt == 2
    [first, _] = sorted(ledger.query(), key=lambda r: r.attempt)
    assert first.error is not None and first.error.endswith("Error")


def test_anthropic_401_is_not_retried(provider_simulator: ProviderSimulator) -> None:
    """A 401 through the anthropic SDK: AuthenticationError at once, one request."""
    sim = provider_simulator
    sim.inject(Fault.error(401), times=None)
    clock = FakeClock()
    with pytest.raises(anthropic.AuthenticationError):
        Pipeline([retry(clock)]).call(request("claude-haiku-4-5", "anthropic"), anthropic_send(sim))
    assert len(sim.requests) == 1


def test_async_retry_after_ms(provider_simulator: ProviderSimulator) -> None:
    """Async path (AsyncOpenAI): retry-after-ms (the simulator sends both headers) is read
    first; waits go to the async sleep."""
    sim = provider_simulator
    sim.inject(Fault.rate_limit(retry_after=0.25), times=1)
    clock, ledger = FakeClock(), MemoryLedger()
    pipe = Pipeline([retry(clock)], ledger=ledger)
    response = asyncio.run(pipe.acall(request(), openai_asend(sim)))
    assert response.attempt == 2 and clock.sleeps == [0.25]
    assert records(ledger) == [(1, "RateLimitError"), (2, None)]


def test_retry_budget_stops_retries_and_alerts(provider_simulator: ProviderSimulator) -> None:
    """A budget of 2 retries per window (ratio 0, floor 2): of 4 failing calls only two
    retries go out in all, the alert fires once, and a new window allows retries again."""
    sim = provider_simulator
    sim.inject(Fault.unavailable(), times=None)
    clock = FakeClock()
    alerts: list[object] = []
    budget = RetryBudget(ratio=0.0, min_retries=2, window=60, clock=clock,
                         on_exhausted=alerts.append)
    policy = retry(clock, max_attempts=3, budget=budget)
    for _ in range(4):
        with pytest.raises(openai.InternalServerError):
            Pipeline([policy]).call(request(), openai_send(sim))
    assert len(sim.requests) == 4 + 2  # four first attempts, two retries allowed
    assert len(alerts) == 1 and policy.gave_up["budget"] >= 1
    clock.advance(61)  # a new window: retries are allowed again
    with pytest.raises(openai.InternalServerError):
        Pipeline([policy]).call(request(), openai_send(sim))
    assert len(sim.requests) == 6 + 3


def test_classify_real_sdk_exceptions(provider_simulator: ProviderSimulator) -> None:
    """classify() on the exceptions the SDKs actually raise against the simulator."""
    sim = provider_simulator
    cases = [(Fault.rate_limit(retry_after=2), "retryable", "rate_limit", 2.0),
             (Fault.error(400, "This model's maximum context length is 128000 tokens"),
              "fatal", "context_length", None),
             (Fault.error(400, "content_policy_violation: refused"), "fatal",
              "content_policy", None),
             (Fault.unavailable(), "retryable", "unavailable", None),
             (Fault.server_error(500), "ambiguous", "server_error", None)]
    send = openai_send(sim)
    for fault, kind, reason, after in cases:
        sim.inject(fault, times=1)
        with pytest.raises(openai.APIError) as info:
            send(request())
        got = classify(info.value)
        assert (got.kind, got.reason, got.retry_after) == (kind, reason, after), fault


@pytest.mark.redis
def test_redis_retry_budget_is_shared(provider_simulator: ProviderSimulator) -> None:
    """Two Retry policies (two processes' worth) on one RedisRetryBudget prefix on the real
    server: the 2 retries of the window are shared, the second policy gets none; the alert
    fires on the one refused."""
    import uuid

    from services import drop_redis_prefix, require_redis
    from tokenomy import RedisRetryBudget

    url = require_redis()
    prefix = f"tokenomy-test:retry-budget:{uuid.uuid4().hex}"
    sim = provider_simulator
    sim.inject(Fault.unavailable(), times=None)
    clock = FakeClock(start=1_700_000_000.0)
    alerts: list[object] = []
    try:
        a = retry(clock, budget=RedisRetryBudget(url, prefix=prefix, ratio=0.0, min_retries=2,
                                                 clock=clock))
        b = retry(clock, budget=RedisRetryBudget(url, prefix=prefix, ratio=0.0, min_retries=2,
                                                 clock=clock, on_exhausted=alerts.append))
        with pytest.raises(openai.InternalServerError):
            Pipeline([a]).call(request(), openai_send(sim))  # 3 attempts: both retries
        with pytest.raises(openai.InternalServerError):
            Pipeline([b]).call(request(), openai_send(sim))  # 1 attempt: none left
        assert len(sim.requests) == 4 and len(alerts) == 1
        assert b.budget.counts == (2, 2)
    finally:
        drop_redis_prefix(prefix)


def test_retry_summary_from_the_ledger(provider_simulator: ProviderSimulator) -> None:
    """retry_summary over a ledger: a call answered on its 3rd attempt (two 429s) and a
    call failed once with a 400 → 2 calls, 4 attempts, 2 retries, 3 failed attempts by
    class, 1 call failed in the end; the failed attempts billed nothing."""
    from decimal import Decimal

    from tokenomy import retry_summary

    sim = provider_simulator
    clock, ledger = FakeClock(), MemoryLedger()
    pipe = Pipeline([retry(clock)], ledger=ledger)
    sim.inject(Fault.rate_limit(retry_after=1), times=2)
    pipe.call(request(), openai_send(sim))
    sim.inject(Fault.error(400), times=1)
    with pytest.raises(openai.BadRequestError):
        pipe.call(request(), openai_send(sim))
    s = retry_summary(ledger.query())
    assert (s.calls, s.attempts, s.retries, s.failed_attempts, s.failed_calls) == (2, 4, 2, 3, 1)
    assert s.failures_by_error == {"RateLimitError": 2, "BadRequestError": 1}
    assert s.wasted_usd == Decimal(0) and s.retry_rate == 1.0 and s.failure_rate == 0.75


def test_classify_real_httpx_errors(provider_simulator: ProviderSimulator) -> None:
    """Plain httpx against the simulator: raise_for_status()'s HTTPStatusError on a 429
    (retryable, Retry-After read), a ReadTimeout on a held connection (retryable), a
    ConnectError on a closed port (retryable)."""
    import httpx

    sim = provider_simulator
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    url = sim.openai_base_url.rstrip("/") + "/chat/completions"
    sim.inject(Fault.rate_limit(retry_after=3), times=1)
    with httpx.Client(timeout=0.3) as client:
        with pytest.raises(httpx.HTTPStatusError) as status:
            client.post(url, json=body).raise_for_status()
        sim.inject(Fault.timeout(hold=5), times=1)
        with pytest.raises(httpx.ReadTimeout) as timeout:
            client.post(url, json=body)
        with pytest.raises(httpx.ConnectError) as refused:
            client.post("http://127.0.0.1:1/v1/chat/completions", json=body)
    got = [classify(e.value) for e in (status, timeout, refused)]
    assert [(g.kind, g.reason) for g in got] == [
        ("retryable", "rate_limit"), ("retryable", "timeout"), ("retryable", "connection")]
    assert got[0].retry_after == 3.0
