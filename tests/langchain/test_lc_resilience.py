"""LangChain: tokenomy.Retry as a TokenomyChatModel policy and with_resilience around a chain,
through real ChatOpenAI clients (max_retries=0) against the simulator's faults. The SDK
clients' own hidden retries are in test_lc_hidden_retries.py."""

from __future__ import annotations

import random

import anthropic
import openai
import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from lc_sim import openai_chat

from tokenomy import MemoryLedger, Retry, classify
from tokenomy.testing import FakeClock, Fault, ProviderSimulator
from tokenomy_langchain import TokenomyChatModel, with_resilience


def retry(clock: FakeClock) -> Retry:
    return Retry(clock=clock, sleep=clock.sleep, async_sleep=clock.asleep, rng=random.Random(1))


def test_retry_policy_in_the_wrapper(provider_simulator: ProviderSimulator) -> None:
    """A 429 (Retry-After 2 s) then an answer: two ledger records under one run, attempt 1
    failed with langchain-openai's OpenAIRateLimitError (an openai.RateLimitError), attempt 2
    answered; one wait of 2 s."""
    sim = provider_simulator
    sim.inject(Fault.rate_limit(retry_after=2), times=1)
    clock, ledger = FakeClock(), MemoryLedger()
    model = TokenomyChatModel(openai_chat(sim), policies=[retry(clock)], ledger=ledger)
    assert model.invoke("hi").content
    got = sorted((r.attempt, r.error) for r in ledger.query())
    assert got == [(1, "OpenAIRateLimitError"), (2, None)] and clock.sleeps == [2.0]
    assert len({r.run_id for r in ledger.query()}) == 1


def test_with_resilience_retries_a_chain(provider_simulator: ProviderSimulator) -> None:
    """prompt | model | parser wrapped: a 503 is retried, the chain's answer returned."""
    sim = provider_simulator
    sim.inject(Fault.unavailable(), times=1)
    clock = FakeClock()
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | openai_chat(sim) | StrOutputParser()
    assert with_resilience(chain, retry(clock)).invoke({"q": "hi"})
    assert len(sim.requests) == 2 and len(clock.sleeps) == 1


def test_with_resilience_never_retries_a_400(provider_simulator: ProviderSimulator) -> None:
    """A 400 (here async) goes straight to the caller: one request, no wait."""
    import asyncio

    sim = provider_simulator
    sim.inject(Fault.error(400), times=None)
    clock = FakeClock()
    chain = with_resilience(openai_chat(sim), retry(clock))
    with pytest.raises(openai.BadRequestError):
        asyncio.run(chain.ainvoke("hi"))
    assert len(sim.requests) == 1 and clock.sleeps == []


def test_langchain_context_overflow_is_fatal(provider_simulator: ProviderSimulator) -> None:
    """A context-length 400 through ChatOpenAI (langchain-openai raises its
    OpenAIContextOverflowError): classified fatal/context_length, not retried."""
    sim = provider_simulator
    sim.inject(Fault.error(400, "This model's maximum context length is 128000 tokens. "
                                "(code: context_length_exceeded)"), times=None)
    clock = FakeClock()
    model = TokenomyChatModel(openai_chat(sim), policies=[retry(clock)])
    with pytest.raises(openai.BadRequestError) as info:
        model.invoke("hi")
    got = classify(info.value)
    assert (got.kind, got.reason) == ("fatal", "context_length")
    assert len(sim.requests) == 1 and clock.sleeps == []


def test_chat_anthropic_errors_are_classified(provider_simulator: ProviderSimulator) -> None:
    """ChatAnthropic (langchain-anthropic) against the simulator: a 529 overloaded is
    retried and answered; a 401 is raised at once."""
    from lc_sim import anthropic as chat_anthropic

    sim = provider_simulator
    sim.inject(Fault.overloaded(), times=1)
    clock, ledger = FakeClock(), MemoryLedger()
    model = TokenomyChatModel(chat_anthropic(sim), policies=[retry(clock)], ledger=ledger)
    assert model.invoke("hi").content
    assert [r.attempt for r in sorted(ledger.query(), key=lambda r: r.attempt)] == [1, 2]
    sim.inject(Fault.error(401), times=None)
    with pytest.raises(anthropic.AuthenticationError) as info:
        model.invoke("hi")

    assert (classify(info.value).kind, classify(info.value).reason) == ("fatal", "auth")
    assert len(sim.requests) == 3


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_attempt_timeout_reaches_the_client(
    provider_simulator: ProviderSimulator, provider: str
) -> None:
    """Retry(attempt_timeout=3) in a TokenomyChatModel: the timeout goes to ChatOpenAI's /
    ChatAnthropic's SDK call as its per-request timeout (the model's own is 120 s), so a
    request the simulator holds for 120 s fails after ~3 s and is retried."""
    import time

    from lc_sim import anthropic as chat_anthropic

    sim = provider_simulator
    clock, ledger = FakeClock(), MemoryLedger()
    chat = (openai_chat(sim, timeout=120) if provider == "openai"
            else chat_anthropic(sim, timeout=120))
    policy = Retry(attempt_timeout=3, clock=clock, sleep=clock.sleep, rng=random.Random(1))
    model = TokenomyChatModel(chat, policies=[policy], ledger=ledger)
    sim.inject(Fault.timeout(hold=120), times=1)
    started = time.monotonic()
    assert model.invoke("hi").content
    assert 3.0 <= time.monotonic() - started < 60.0
    got = sorted((r.attempt, r.error) for r in ledger.query())
    assert [a for a, _ in got] == [1, 2] and "Timeout" in str(got[0][1]) and got[1][1] is None
