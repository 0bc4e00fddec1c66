"""LangChain: the SDK clients' own retries (``max_retries``, on by default) are taken over by
TokenomyChatModel, so every attempt the provider sees is a ledger record: with a Retry in the
policies the clients stop retrying; without one, Retry.like_sdk() retries as the client did,
visibly. Real ChatOpenAI/ChatAnthropic (their real openai/anthropic clients) against the
simulator's injected 429/5xx."""

from __future__ import annotations

import asyncio
import random
import warnings
from typing import Any

import anthropic
import httpx
import openai
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_openai import ChatOpenAI

from tokenomy import MaxTokens, MemoryLedger, Retry, TokenomyWarning, hidden_retries
from tokenomy.testing import FakeClock, Fault, ProviderSimulator
from tokenomy_langchain import TokenomyChatModel


def retry(clock: FakeClock) -> Retry:
    return Retry(clock=clock, sleep=clock.sleep, async_sleep=clock.asleep, rng=random.Random(3))


def attempts(ledger: MemoryLedger) -> list[tuple[int, str | None]]:
    return sorted((r.attempt, r.error) for r in ledger.query())


def test_retry_policy_turns_the_client_retries_off(provider_simulator: ProviderSimulator) -> None:
    """ChatOpenAI left at the SDK's default (2 hidden retries) wrapped with Retry: two 503s
    then an answer are 3 requests at the simulator and 3 ledger records (not 9 requests of
    which 3 recorded); the user's model keeps its own client, still retrying."""
    sim = provider_simulator
    user_model = ChatOpenAI(model="gpt-4o-mini", base_url=sim.openai_base_url, api_key="t")
    assert hidden_retries(user_model) == 2
    clock, ledger = FakeClock(), MemoryLedger()
    model = TokenomyChatModel(user_model, policies=[retry(clock)], ledger=ledger)
    assert hidden_retries(model.model) == 0 and model.model is not user_model
    sim.inject(Fault.unavailable(), times=2)
    assert model.invoke("hi").content
    assert len(sim.requests) == 3 and len(clock.sleeps) == 2
    assert attempts(ledger) == [(1, "OpenAIAPIError"), (2, "OpenAIAPIError"), (3, None)]
    assert hidden_retries(user_model) == 2 and user_model.root_client.max_retries == 2


def test_async_and_responses_api_clients_too(provider_simulator: ProviderSimulator) -> None:
    """The async client and the Responses API path (root clients) are rebuilt as well: a
    429 then an answer through ainvoke on use_responses_api=True is 2 requests, 2 records."""
    sim = provider_simulator
    user_model = ChatOpenAI(model="gpt-4.1-mini", base_url=sim.openai_base_url, api_key="t",
                            use_responses_api=True)
    clock, ledger = FakeClock(), MemoryLedger()
    model = TokenomyChatModel(user_model, policies=[retry(clock)], ledger=ledger)
    sim.inject(Fault.rate_limit(retry_after=1), times=1)
    assert asyncio.run(model.ainvoke("hi")).content
    assert len(sim.requests) == 2 and clock.sleeps == [1.0]
    assert attempts(ledger) == [(1, "OpenAIRateLimitError"), (2, None)]


def test_without_retry_policy_the_client_retries_are_counted(
    provider_simulator: ProviderSimulator,
) -> None:
    """ChatAnthropic (default max_retries=2) with only MaxTokens: Retry.like_sdk() is added,
    so two 429s then an answer are 3 requests and 3 records; a 429 that never clears gives
    up after the client's own 1 + 2 attempts, every one recorded."""
    sim = provider_simulator
    ledger = MemoryLedger()
    model = TokenomyChatModel(
        ChatAnthropic(model="claude-haiku-4-5", base_url=sim.anthropic_base_url, api_key="t"),
        policies=[MaxTokens(100)], ledger=ledger,
    )
    sim.inject(Fault.rate_limit(retry_after=0.01), times=2)
    assert model.invoke("hi").content
    assert len(sim.requests) == 3
    assert attempts(ledger) == [(1, "AnthropicRateLimitError"), (2, "AnthropicRateLimitError"),
                                (3, None)]
    sim.clear_faults()
    sim.inject(Fault.rate_limit(retry_after=0.01), times=None)
    ledger2 = MemoryLedger()
    model = TokenomyChatModel(
        ChatAnthropic(model="claude-haiku-4-5", base_url=sim.anthropic_base_url, api_key="t"),
        policies=[MaxTokens(100)], ledger=ledger2,
    )
    with pytest.raises(anthropic.RateLimitError):
        model.invoke("hi")
    assert len(sim.requests) == 6
    assert [a for a, _ in attempts(ledger2)] == [1, 2, 3]


def test_the_users_http_client_and_headers_are_kept(provider_simulator: ProviderSimulator) -> None:
    """A ChatOpenAI built with its own httpx client (an event hook counting requests) and
    default headers: the rebuilt client sends through that same httpx client (the hook sees
    every attempt, as many as the ledger records) with the same headers."""
    sim = provider_simulator
    seen: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    user_model = ChatOpenAI(model="gpt-4o-mini", base_url=sim.openai_base_url, api_key="t",
                            http_client=http, default_headers={"x-app": "shop"}, max_retries=4)
    clock, ledger = FakeClock(), MemoryLedger()
    model = TokenomyChatModel(user_model, policies=[retry(clock)], ledger=ledger)
    sim.inject(Fault.server_error(), times=1)
    assert model.invoke("hi").content
    assert len(seen) == len(sim.requests) == len(ledger.query()) == 2
    assert all(r.headers.get("x-app") == "shop" for r in sim.requests)
    http.close()


class _OwnClient(GenericFakeChatModel):
    """A chat model holding a client tokenomy does not know how to rebuild."""

    client: Any = None


def test_a_client_that_cannot_be_rebuilt_is_warned_about() -> None:
    """A model whose client retries (max_retries=3) but has no with_options: kept as it is,
    with one TokenomyWarning naming max_retries when a Retry is in the policies."""
    from types import SimpleNamespace

    from tokenomy.resilience._hidden import _WARNED

    _WARNED.forget(("hidden_retries", "_OwnClient"))
    chat = _OwnClient(messages=iter(["a"]), client=SimpleNamespace(max_retries=3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wrapped = TokenomyChatModel(chat, policies=[Retry()])
        TokenomyChatModel(chat, policies=[Retry()])
    hits = [w for w in caught if issubclass(w.category, TokenomyWarning)]
    assert len(hits) == 1 and "max_retries=3" in str(hits[0].message)
    assert wrapped.model is chat


def test_a_client_without_retries_is_left_alone(provider_simulator: ProviderSimulator) -> None:
    """max_retries=0 already: the model is used as given and no policy is added."""
    sim = provider_simulator
    user_model = ChatOpenAI(model="gpt-4o-mini", base_url=sim.openai_base_url, api_key="t",
                            max_retries=0)
    model = TokenomyChatModel(user_model, policies=[MaxTokens(50)])
    assert model.model is user_model
    assert [type(p).__name__ for p in model._pipeline.policies] == ["MaxTokens"]
    assert isinstance(user_model.root_client, openai.OpenAI)
