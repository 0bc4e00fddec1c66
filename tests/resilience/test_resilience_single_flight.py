"""SingleFlight against the simulator through the real openai clients: 100 concurrent
identical requests → 1 upstream call, every caller gets the answer; different requests are
not collapsed; an idempotency key answers a double submit from memory."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from sdk_senders import openai_asend, openai_send, request

from tokenomy import MemoryLedger, Pipeline, SingleFlight
from tokenomy.testing import FakeClock, Fault, ProviderSimulator


def test_100_concurrent_async_requests_one_upstream_call(
    provider_simulator_factory: object,
) -> None:
    """100 identical requests awaited together: the simulator sees 1 call, all 100 callers
    get its text; the ledger has 1 billed attempt and 99 served records billing nothing."""
    sim = provider_simulator_factory(latency=0.3)  # type: ignore[operator]
    policy, ledger = SingleFlight(), MemoryLedger()
    pipe = Pipeline([policy], ledger=ledger)
    send = openai_asend(sim)

    async def main() -> list[str]:
        answers = await asyncio.gather(*(pipe.acall(request(), send) for _ in range(100)))
        return [a.text for a in answers]

    texts = asyncio.run(main())
    assert len(sim.requests) == 1 and len(set(texts)) == 1 and texts[0]
    assert policy.collapsed == 99
    billed = [r for r in ledger.query() if r.attempt >= 1]
    assert len(billed) == 1 and len(ledger.query()) == 100
    assert sum(r.usage.input for r in ledger.query()) == billed[0].usage.input


def test_concurrent_threads_one_upstream_call(provider_simulator_factory: object) -> None:
    """The sync path: 20 threads with the same request → 1 call; a different request is
    sent on its own."""
    sim = provider_simulator_factory(latency=0.3)  # type: ignore[operator]
    policy = SingleFlight()
    send = openai_send(sim)
    with ThreadPoolExecutor(20) as pool:
        texts = list(pool.map(lambda _: Pipeline([policy]).call(request(), send).text, range(20)))
    assert len(sim.requests) == 1 and all(texts)
    Pipeline([policy]).call(request("gpt-4o"), send)
    assert len(sim.requests) == 2


def test_leader_error_reaches_every_caller(provider_simulator_factory: object) -> None:
    """The one upstream call fails: every waiting caller gets the same error."""
    sim = provider_simulator_factory(latency=0.3)  # type: ignore[operator]
    sim.inject(Fault.error(400), times=1)
    pipe = Pipeline([SingleFlight()])
    send = openai_asend(sim)

    async def main() -> list[BaseException | object]:
        return await asyncio.gather(*(pipe.acall(request(), send) for _ in range(10)),
                                    return_exceptions=True)

    results = asyncio.run(main())
    assert len(sim.requests) == 1
    assert all(isinstance(r, openai.BadRequestError) for r in results)


def test_idempotency_key_answers_a_double_submit(provider_simulator: ProviderSimulator) -> None:
    """Same idempotency key within the ttl: answered from memory (1 call); after the ttl,
    sent again."""
    clock = FakeClock()
    policy = SingleFlight(idempotency_ttl=60, clock=clock)
    send = openai_send(provider_simulator)
    keyed = request(tags={"idempotency_key": "order-42"})
    first = Pipeline([policy]).call(keyed, send)
    second = Pipeline([policy]).call(keyed, send)
    assert second.text == first.text and len(provider_simulator.requests) == 1
    clock.advance(61)
    Pipeline([policy]).call(keyed, send)
    assert len(provider_simulator.requests) == 2


def test_unkeyed_sequential_requests_are_each_sent(provider_simulator: ProviderSimulator) -> None:
    """Without a key, a finished request is not remembered: the same request later is sent."""
    policy = SingleFlight(idempotency_ttl=60)
    send = openai_send(provider_simulator)
    Pipeline([policy]).call(request(), send)
    Pipeline([policy]).call(request(), send)
    assert len(provider_simulator.requests) == 2


def test_bad_ttl_is_refused() -> None:
    """A negative idempotency_ttl is a ConfigurationError."""
    from tokenomy import ConfigurationError

    with pytest.raises(ConfigurationError):
        SingleFlight(idempotency_ttl=-1)
