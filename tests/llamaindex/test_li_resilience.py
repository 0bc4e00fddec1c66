"""LlamaIndex: tokenomy.Retry and CircuitBreaker as TokenomyLLM policies, through the real
llama-index OpenAI/Anthropic LLMs (max_retries=0) against the simulator's faults."""

from __future__ import annotations

import random

import anthropic
import openai
import pytest
from li_wrapper_helpers import anthropic_llm, openai_llm, wrap
from llama_index.core.llms import ChatMessage

from tokenomy import CircuitBreaker, CircuitOpenError, MemoryBreakerStore, MemoryLedger, Retry
from tokenomy.testing import FakeClock, Fault, ProviderSimulator

HI = [ChatMessage(role="user", content="hi")]


def retry(clock: FakeClock) -> Retry:
    return Retry(clock=clock, sleep=clock.sleep, async_sleep=clock.asleep, rng=random.Random(2))


def test_openai_429_then_answer(provider_simulator: ProviderSimulator) -> None:
    """llama-index OpenAI re-raises the SDK's RateLimitError: retried after its Retry-After;
    the ledger has the failed attempt 1 and the answered attempt 2."""
    sim = provider_simulator
    sim.inject(Fault.rate_limit(retry_after=1), times=1)
    clock, ledger = FakeClock(), MemoryLedger()
    assert wrap(openai_llm(sim), ledger, [retry(clock)]).chat(HI).message.content
    assert sorted((r.attempt, r.error) for r in ledger.query()) == [
        (1, "RateLimitError"), (2, None)]
    assert clock.sleeps == [1.0]


def test_anthropic_401_not_retried(provider_simulator: ProviderSimulator) -> None:
    """llama-index Anthropic: a 401 is raised at once (anthropic.AuthenticationError)."""
    sim = provider_simulator
    sim.inject(Fault.error(401), times=None)
    clock, ledger = FakeClock(), MemoryLedger()
    with pytest.raises(anthropic.AuthenticationError):
        wrap(anthropic_llm(sim), ledger, [retry(clock)]).chat(HI)
    assert len(sim.requests) == 1 and clock.sleeps == []


def test_breaker_opens_on_repeated_503(provider_simulator: ProviderSimulator) -> None:
    """Two 503s with failure_threshold=2: the third call fails fast, nothing sent."""
    sim = provider_simulator
    sim.inject(Fault.unavailable(), times=None)
    llm = wrap(openai_llm(sim), MemoryLedger(),
               [CircuitBreaker(failure_threshold=2, store=MemoryBreakerStore())])
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            llm.chat(HI)
    with pytest.raises(CircuitOpenError):
        llm.chat(HI)
    assert len(sim.requests) == 2
