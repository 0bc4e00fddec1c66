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


def test_hidden_client_retries_are_taken_over(provider_simulator: ProviderSimulator) -> None:
    """llama-index OpenAI (default max_retries=3) and Anthropic (default 10) wrapped with a
    Retry: their clients stop retrying, so two 503s then an answer are 3 requests and 3
    ledger records each, sync and async; the user's LLMs keep their own settings."""
    import asyncio

    from llama_index.llms.anthropic import Anthropic
    from llama_index.llms.openai import OpenAI

    from tokenomy import hidden_retries
    from tokenomy_llamaindex import TokenomyLLM

    sim = provider_simulator
    users = [OpenAI(model="gpt-4o-mini", api_base=sim.openai_base_url, api_key="t"),
             Anthropic(model="claude-haiku-4-5", base_url=sim.anthropic_base_url, api_key="t")]
    for user_llm, retries in zip(users, (3, 10), strict=True):
        assert hidden_retries(user_llm) == retries
        for run_async in (False, True):
            clock, ledger = FakeClock(), MemoryLedger()
            llm = TokenomyLLM(user_llm, policies=[retry(clock)], ledger=ledger)
            assert hidden_retries(llm.llm) == 0
            before = len(sim.requests)
            sim.inject(Fault.unavailable(), times=2)
            chat = asyncio.run(llm.achat(HI)) if run_async else llm.chat(HI)
            assert chat.message.content
            assert len(sim.requests) - before == 3
            assert sorted((r.attempt, r.error) for r in ledger.query()) == [
                (1, "InternalServerError"), (2, "InternalServerError"), (3, None)]
        assert hidden_retries(user_llm) == retries


def test_hidden_client_retries_counted_without_a_retry_policy(
    provider_simulator: ProviderSimulator,
) -> None:
    """No Retry in the policies: Retry.like_sdk(3) stands in for llama-index OpenAI's own 3
    retries, so a 429 that never clears is 4 requests, each a ledger record."""
    from llama_index.llms.openai import OpenAI

    from tokenomy import MaxTokens
    from tokenomy_llamaindex import TokenomyLLM

    sim = provider_simulator
    ledger = MemoryLedger()
    llm = TokenomyLLM(OpenAI(model="gpt-4o-mini", api_base=sim.openai_base_url, api_key="t"),
                      policies=[MaxTokens(64)], ledger=ledger)
    sim.inject(Fault.rate_limit(retry_after=0.01), times=None)
    with pytest.raises(openai.RateLimitError):
        llm.chat(HI)
    assert len(sim.requests) == 4
    assert sorted(r.attempt for r in ledger.query()) == [1, 2, 3, 4]


def test_cascade_tiers_hidden_retries_are_taken_over(provider_simulator: ProviderSimulator) -> None:
    """CascadeLLM over two llama-index OpenAI LLMs left at their default max_retries=3, no
    Retry in the policies: the tiers in use are copies without client retries and
    Retry.like_sdk(3) is innermost, so the cheap tier's two 503s then its answer are 3
    requests and 3 ledger records (attempts 1-2 failed with their error class), sync and
    async; four 503s (the cheap tier's 1 + 3 attempts) fall through to gpt-4o: 5 requests,
    5 records. The user's LLMs keep their retrying clients."""
    import asyncio

    from llama_index.llms.openai import OpenAI

    from tokenomy import hidden_retries
    from tokenomy_llamaindex import CascadeLLM

    sim = provider_simulator
    users = [OpenAI(model=m, api_base=sim.openai_base_url, api_key="t")
             for m in ("gpt-4o-mini", "gpt-4o")]
    unavailable = Fault.error(503, retry_after=0.01)
    for run_async in (False, True):
        ledger = MemoryLedger()
        llm = CascadeLLM(users, ledger=ledger)
        assert [type(p).__name__ for p in llm.pipeline.policies] == ["Cascade", "Retry"]
        assert hidden_retries(llm.llm) == 0 and llm.llm is not users[-1]
        before = len(sim.requests)
        sim.inject(unavailable, times=2)
        chat = asyncio.run(llm.achat(HI)) if run_async else llm.chat(HI)
        assert chat.message.content
        assert [r.body["model"] for r in sim.requests[before:]] == ["gpt-4o-mini"] * 3
        assert sorted((r.attempt, r.error) for r in ledger.query()) == [
            (1, "InternalServerError"), (2, "InternalServerError"), (3, None)]
    ledger = MemoryLedger()
    before = len(sim.requests)
    sim.inject(unavailable, times=4)
    assert CascadeLLM(users, ledger=ledger).chat(HI).message.content
    assert [r.body["model"] for r in sim.requests[before:]] == ["gpt-4o-mini"] * 4 + ["gpt-4o"]
    records = sorted(ledger.query(), key=lambda r: r.attempt)
    assert [(r.attempt, r.error) for r in records] == [
        (n, "InternalServerError") for n in (1, 2, 3, 4)] + [(5, None)]
    assert records[-1].model.startswith("gpt-4o") and records[0].model.startswith("gpt-4o-mini")
    assert [hidden_retries(u) for u in users] == [3, 3]


def test_llm_summarizer_takes_the_retries_over(provider_simulator: ProviderSimulator) -> None:
    """LLMSummarizer(OpenAI(max_retries=3)) in a ConversationMemory: two 503s then the
    summary are 3 requests and 3 ledger records tagged purpose=memory (attempts 1-2 failed
    with their error class), sync and async; the user's LLM still retries on its own."""
    import asyncio

    from llama_index.llms.openai import OpenAI

    from tokenomy import ConversationMemory, hidden_retries
    from tokenomy_llamaindex import LLMSummarizer

    sim = provider_simulator
    user = OpenAI(model="gpt-4o-mini", api_base=sim.openai_base_url, api_key="t")
    history = [{"role": "system", "content": "You are terse."}]
    for i in range(12):
        history += [{"role": "user", "content": f"question {i} " + "word " * 30},
                    {"role": "assistant", "content": f"answer {i} " + "reply " * 30}]
    history.append({"role": "user", "content": "and now?"})
    for run_async in (False, True):
        summarizer = LLMSummarizer(user)
        assert hidden_retries(summarizer.llm) == 0
        ledger = MemoryLedger()
        memory = ConversationMemory(max_tokens=300, summary_max_tokens=60,
                                    summarizer=summarizer, ledger=ledger)
        before = len(sim.requests)
        sim.inject(Fault.error(503, retry_after=0.01), times=2)
        view = (asyncio.run(memory.awindow(history, conversation="c")) if run_async
                else memory.window(history, conversation="c"))
        assert view.summary
        assert len(sim.requests) - before == 3
        assert sorted((r.attempt, r.error) for r in ledger.query()) == [
            (1, "InternalServerError"), (2, "InternalServerError"), (3, None)]
        assert {r.tags["purpose"] for r in ledger.query()} == {"memory"}
    assert hidden_retries(user) == 3


def test_a_wrapper_without_policies_takes_the_retries_over(
    provider_simulator: ProviderSimulator,
) -> None:
    """TokenomyLLM(OpenAI(max_retries=3)) with no policies: Retry.like_sdk(3) alone, so two
    503s then an answer are 3 requests and 3 records."""
    from llama_index.llms.openai import OpenAI

    from tokenomy_llamaindex import TokenomyLLM

    sim = provider_simulator
    ledger = MemoryLedger()
    llm = TokenomyLLM(OpenAI(model="gpt-4o-mini", api_base=sim.openai_base_url, api_key="t"),
                      ledger=ledger)
    assert [type(p).__name__ for p in llm.pipeline.policies] == ["Retry"]
    sim.inject(Fault.error(503, retry_after=0.01), times=2)
    assert llm.chat(HI).message.content
    assert len(sim.requests) == 3
    assert sorted((r.attempt, r.error) for r in ledger.query()) == [
        (1, "InternalServerError"), (2, "InternalServerError"), (3, None)]
