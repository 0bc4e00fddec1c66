"""CircuitBreaker against the simulator through the real openai client: opens after N
provider failures in a row, fails fast with CircuitOpenError (nothing sent), lets one
half-open trial through after reset_after, recovers or re-opens; falls through to a
fallback model; state shared between breakers through the real Redis server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import openai
import pytest
from sdk_senders import openai_send, request

from services import drop_redis_prefix, require_redis
from tokenomy import (
    CircuitBreaker,
    CircuitOpenError,
    MemoryBreakerStore,
    Pipeline,
    RedisBreakerStore,
    Retry,
)
from tokenomy.testing import FakeClock, Fault, ProviderSimulator


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the real Redis server, deleted after."""
    require_redis()
    prefix = f"tokenomy-test:breaker:{uuid.uuid4().hex}"
    yield prefix
    drop_redis_prefix(prefix)


def breaker(clock: FakeClock, store: object = None, **kw: object) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, reset_after=30, clock=clock,
                          store=store or MemoryBreakerStore(), **kw)  # type: ignore[arg-type]


def opens_and_recovers(sim: ProviderSimulator, make: object) -> None:
    clock = FakeClock(start=1_700_000_000.0)
    b = make(clock)  # type: ignore[operator]
    send = openai_send(sim)
    sim.inject(Fault.unavailable(), times=3)
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            Pipeline([b]).call(request(), send)
    assert b.state(request()) == "open"
    with pytest.raises(CircuitOpenError) as info:
        Pipeline([b]).call(request(), send)
    err = info.value
    assert (err.provider, err.model, err.failures) == ("openai", "gpt-4o-mini", 3)
    assert err.opened_at == datetime.fromtimestamp(1_700_000_000.0, UTC)
    assert (err.retry_at - err.opened_at).total_seconds() == 30
    assert len(sim.requests) == 3  # failed fast: nothing sent
    clock.advance(31)
    sim.inject(Fault.unavailable(), times=1)  # the half-open trial fails: open again
    with pytest.raises(openai.InternalServerError):
        Pipeline([b]).call(request(), send)
    assert b.state(request()) == "open"
    with pytest.raises(CircuitOpenError):
        Pipeline([b]).call(request(), send)
    clock.advance(31)
    assert Pipeline([b]).call(request(), send).text  # the trial succeeds: closed
    assert b.state(request()) == "closed"
    assert len(sim.requests) == 5


def test_breaker_opens_and_recovers_in_memory(provider_simulator: ProviderSimulator) -> None:
    """In memory: closed → open after 3 failures → fail fast → half-open trial (fails,
    re-opens) → trial succeeds → closed."""
    opens_and_recovers(provider_simulator, lambda clock: breaker(clock))


@pytest.mark.redis
def test_breaker_opens_and_recovers_on_redis(
    provider_simulator: ProviderSimulator, redis_prefix: str
) -> None:
    """The same cycle with the state on the real Redis server."""
    url = require_redis()
    opens_and_recovers(
        provider_simulator,
        lambda clock: breaker(clock, RedisBreakerStore(url, prefix=redis_prefix)),
    )


@pytest.mark.redis
def test_redis_state_is_shared_and_one_trial_only(
    provider_simulator: ProviderSimulator, redis_prefix: str
) -> None:
    """Two breakers (two processes' worth) on one Redis prefix: failures seen by one open
    it for both; after reset_after only one of them gets the half-open trial."""
    url = require_redis()
    clock = FakeClock(start=1_700_000_000.0)
    a = breaker(clock, RedisBreakerStore(url, prefix=redis_prefix))
    b = breaker(clock, f"{url}?prefix={redis_prefix}")
    sim = provider_simulator
    sim.inject(Fault.unavailable(), times=3)
    send = openai_send(sim)
    for policy in (a, b, a):
        with pytest.raises(openai.InternalServerError):
            Pipeline([policy]).call(request(), send)
    assert b.state(request()) == "open"
    clock.advance(31)
    key = CircuitBreaker.key(request())
    assert a.store.acquire(key, now=clock(), reset_after=30) is True
    assert b.store.acquire(key, now=clock(), reset_after=30) is False


def test_fallback_model_while_open(provider_simulator: ProviderSimulator) -> None:
    """While gpt-4o's breaker is open, calls go to the fallback model instead of failing."""
    sim = provider_simulator
    clock = FakeClock()
    b = breaker(clock, fallback_model="gpt-4o-mini")
    sim.inject(Fault.unavailable(), times=3, model="gpt-4o")
    send = openai_send(sim)
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            Pipeline([b]).call(request("gpt-4o"), send)
    response = Pipeline([b]).call(request("gpt-4o"), send)
    assert response.text and sim.requests[-1].model == "gpt-4o-mini"


def test_client_errors_do_not_open_the_breaker(provider_simulator: ProviderSimulator) -> None:
    """400s say nothing about the provider's health: five of them leave it closed."""
    sim = provider_simulator
    sim.inject(Fault.error(400), times=5)
    b = breaker(FakeClock())
    for _ in range(5):
        with pytest.raises(openai.BadRequestError):
            Pipeline([b]).call(request(), openai_send(sim))
    assert b.state(request()) == "closed"


def test_retry_then_breaker_counts_every_attempt(provider_simulator: ProviderSimulator) -> None:
    """[Retry, CircuitBreaker]: each attempt counts; once open, Retry does not retry the
    CircuitOpenError (it is raised after 3 provider attempts, with no wait after it)."""
    sim = provider_simulator
    sim.inject(Fault.unavailable(), times=None)
    clock = FakeClock()
    policies = [Retry(max_attempts=5, clock=clock, sleep=clock.sleep), breaker(clock)]
    with pytest.raises(CircuitOpenError):
        Pipeline(policies).call(request(), openai_send(sim))
    assert len(sim.requests) == 3 and len(clock.sleeps) == 3


@pytest.mark.redis
def test_async_breaker_on_redis(provider_simulator: ProviderSimulator, redis_prefix: str) -> None:
    """The async path (AsyncOpenAI, the Redis store read off the event loop): opens after
    3 failures, then fails fast without sending."""
    import asyncio

    from sdk_senders import openai_asend

    url = require_redis()
    sim = provider_simulator
    sim.inject(Fault.unavailable(), times=None)
    b = breaker(FakeClock(), RedisBreakerStore(url, prefix=redis_prefix))
    send = openai_asend(sim)

    async def main() -> None:
        for _ in range(3):
            with pytest.raises(openai.InternalServerError):
                await Pipeline([b]).acall(request(), send)
        with pytest.raises(CircuitOpenError):
            await Pipeline([b]).acall(request(), send)

    asyncio.run(main())
    assert len(sim.requests) == 3
