"""LangChain: the SDK clients' own retries are taken over by every front end that runs model
calls through a pipeline besides TokenomyChatModel (test_lc_hidden_retries.py): a cascade's
tiers (CascadeChatModel), a create_agent agent's model (TokenomyMiddleware) and the models a
with_resilience chain holds (recorded by the callback handler of track()). Real
ChatOpenAI/ChatAnthropic left at the SDK's default max_retries=2, against the simulator's
injected 503s (a 10 ms Retry-After keeps the waits short): every request the simulator sees
is a ledger record, each failed one with its attempt number and error class, and the
user's model objects keep their own retrying clients."""

from __future__ import annotations

import asyncio
import random
import warnings
from typing import Any

import openai
import pytest
from langchain.agents import create_agent
from langchain_anthropic import ChatAnthropic
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda
from langchain_openai import ChatOpenAI

import tokenomy_langchain
from tokenomy import MaxTokens, MemoryLedger, Retry, TokenomyWarning, hidden_retries, retry_summary
from tokenomy.testing import FakeClock, Fault, ProviderSimulator
from tokenomy_langchain import CascadeChatModel, TokenomyMiddleware, with_resilience

#: a 503 whose Retry-After (10 ms) the retry waits exactly: no real backoff in the tests
UNAVAILABLE = Fault.error(503, retry_after=0.01)


def chat_openai(sim: ProviderSimulator, model: str) -> ChatOpenAI:
    """ChatOpenAI with the SDK's default max_retries (2): it would retry hidden."""
    return ChatOpenAI(model=model, base_url=sim.openai_base_url, api_key="t")


def attempts(ledger: MemoryLedger) -> list[tuple[int, str | None, str | None]]:
    return sorted((r.attempt, r.error, r.model) for r in ledger.query())


@pytest.mark.parametrize("run_async", [False, True], ids=["invoke", "ainvoke"])
def test_cascade_cheap_tier_two_503s_then_answers(
    provider_simulator: ProviderSimulator, run_async: bool
) -> None:
    """A CascadeChatModel over two ChatOpenAI tiers (max_retries=2 each, no Retry in the
    policies): the cheap tier's two 503s and its answer are 3 requests at the simulator and
    3 ledger records (attempts 1 and 2 failed with their error class, 3 answered), all on
    gpt-4o-mini; the tiers in use are copies without client retries and the user's models
    still retry."""
    sim = provider_simulator
    users = [chat_openai(sim, "gpt-4o-mini"), chat_openai(sim, "gpt-4o")]
    ledger = MemoryLedger()
    model = CascadeChatModel(users, policies=[MaxTokens(64)], ledger=ledger)
    assert [type(p).__name__ for p in model._pipeline.policies] == ["MaxTokens", "Cascade", "Retry"]
    assert all(hidden_retries(t) == 0 and t is not u for t, u in zip(model.tiers, users, strict=True))
    assert model.model is model.tiers[-1]
    sim.inject(UNAVAILABLE, times=2)
    answer = asyncio.run(model.ainvoke("hi")) if run_async else model.invoke("hi")
    assert answer.content
    assert [r.body["model"] for r in sim.requests] == ["gpt-4o-mini"] * 3
    assert attempts(ledger) == [
        (1, "OpenAIAPIError", "gpt-4o-mini"),
        (2, "OpenAIAPIError", "gpt-4o-mini"),
        (3, None, "gpt-4o-mini"),
    ]
    assert len(ledger.query()) == len(sim.requests)
    assert [hidden_retries(u) for u in users] == [2, 2]
    assert [u.root_client.max_retries for u in users] == [2, 2]


def test_cascade_falls_through_after_the_tier_retries(provider_simulator: ProviderSimulator) -> None:
    """ChatAnthropic tiers (max_retries=2): a cheap tier failing 3 times (its client's 1 + 2
    attempts, now Retry.like_sdk's) falls through to the strong tier: 4 requests, 4 records
    (3 failed on claude-haiku-4-5, the answer from claude-sonnet-4-5) under one run."""
    sim = provider_simulator
    users = [
        ChatAnthropic(model=m, base_url=sim.anthropic_base_url, api_key="t")  # type: ignore[call-arg]
        for m in ("claude-haiku-4-5", "claude-sonnet-4-5")
    ]
    ledger = MemoryLedger()
    model = CascadeChatModel(users, ledger=ledger)
    sim.inject(UNAVAILABLE, times=3)
    assert model.invoke("hi").content
    assert [r.body["model"] for r in sim.requests] == ["claude-haiku-4-5"] * 3 + ["claude-sonnet-4-5"]
    got = attempts(ledger)
    assert [(a, e) for a, e, _ in got] == [
        (1, "AnthropicAPIError"), (2, "AnthropicAPIError"), (3, "AnthropicAPIError"), (4, None)]
    assert [m for _, _, m in got][:3] == ["claude-haiku-4-5"] * 3
    assert (got[3][2] or "").startswith("claude-sonnet-4-5")
    assert len({r.run_id for r in ledger.query()}) == 1
    assert [hidden_retries(u) for u in users] == [2, 2]


def test_cascade_with_a_retry_policy_adds_none(provider_simulator: ProviderSimulator) -> None:
    """A Retry in the policies runs around the cascade and no Retry.like_sdk is added: the
    tiers still do not retry on their own, so a 503 on the last tier (the cheap one fell
    through) is retried by that Retry alone: every request is one record."""
    sim = provider_simulator
    clock, ledger = FakeClock(), MemoryLedger()
    policy = Retry(clock=clock, sleep=clock.sleep, async_sleep=clock.asleep, rng=random.Random(1))
    model = CascadeChatModel(
        [chat_openai(sim, "gpt-4o-mini"), chat_openai(sim, "gpt-4o")], policies=[policy],
        ledger=ledger,
    )
    assert [type(p).__name__ for p in model._pipeline.policies] == ["Retry", "Cascade"]
    sim.inject(UNAVAILABLE, times=2)  # the cheap tier's only attempt, then gpt-4o's first
    assert model.invoke("hi").content
    assert [r.body["model"] for r in sim.requests] == ["gpt-4o-mini", "gpt-4o", "gpt-4o-mini"]
    assert len(ledger.query()) == len(sim.requests) == 3
    assert clock.sleeps == [0.01]


def _agent_input() -> dict[str, list[dict[str, str]]]:
    return {"messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("run_async", [False, True], ids=["invoke", "ainvoke"])
def test_agent_middleware_takes_the_models_retries_over(
    provider_simulator: ProviderSimulator, run_async: bool
) -> None:
    """create_agent(model=ChatOpenAI(max_retries default 2), middleware=[TokenomyMiddleware(
    [MaxTokens(64)])]): two 503s then an answer are 3 requests and 3 ledger records (attempts
    1-2 failed with their error class); a second run reuses the same retry-free copy (built
    once per model object); the user's model keeps its retrying client."""
    sim = provider_simulator
    user = chat_openai(sim, "gpt-4o-mini")
    ledger = MemoryLedger()
    middleware = TokenomyMiddleware([MaxTokens(64)], ledger=ledger)
    agent = create_agent(model=user, middleware=[middleware])
    sim.inject(UNAVAILABLE, times=2)
    state = (asyncio.run(agent.ainvoke(_agent_input())) if run_async
             else agent.invoke(_agent_input()))
    assert state["messages"][-1].content
    assert len(sim.requests) == 3
    assert attempts(ledger) == [
        (1, "OpenAIAPIError", "gpt-4o-mini"),
        (2, "OpenAIAPIError", "gpt-4o-mini"),
        (3, None, "gpt-4o-mini"),
    ]
    copy, pipeline = middleware.taken_over(user)
    assert copy is not user and hidden_retries(copy) == 0
    assert [type(p).__name__ for p in pipeline.policies] == ["MaxTokens", "Retry"]
    assert middleware.taken_over(user) == (copy, pipeline)
    assert agent.invoke(_agent_input())["messages"][-1].content
    assert len(sim.requests) == len(ledger.query()) == 4
    assert middleware.taken_over(user)[0] is copy
    assert hidden_retries(user) == 2 and user.root_client.max_retries == 2
    assert [type(p).__name__ for p in middleware.pipeline.policies] == ["MaxTokens"]


def test_agent_middleware_cascade_models(provider_simulator: ProviderSimulator) -> None:
    """TokenomyMiddleware([Cascade], models=[cheap, strong]) on an agent whose model is the
    cheap one (both max_retries=2): the models are taken over when the middleware is built
    (the agent's model maps to the same copy) with Retry.like_sdk after the cascade, so three
    503s on the cheap tier then gpt-4o's answer are 4 requests and 4 records."""
    from tokenomy.routing import Cascade

    sim = provider_simulator
    cheap, strong = chat_openai(sim, "gpt-4o-mini"), chat_openai(sim, "gpt-4o")
    ledger = MemoryLedger()
    middleware = TokenomyMiddleware([Cascade(["gpt-4o-mini", "gpt-4o"])], ledger=ledger,
                                    models=[cheap, strong])
    assert [type(p).__name__ for p in middleware.pipeline.policies] == ["Cascade", "Retry"]
    assert middleware.taken_over(cheap) == (middleware.models["gpt-4o-mini"], middleware.pipeline)
    agent = create_agent(model=cheap, middleware=[middleware])
    sim.inject(UNAVAILABLE, times=3)
    assert agent.invoke(_agent_input())["messages"][-1].content
    assert [r.body["model"] for r in sim.requests] == ["gpt-4o-mini"] * 3 + ["gpt-4o"]
    got = attempts(ledger)
    assert [(a, e) for a, e, _ in got] == [(n, "OpenAIAPIError") for n in (1, 2, 3)] + [(4, None)]
    assert (got[3][2] or "").startswith("gpt-4o") and got[0][2] == "gpt-4o-mini"
    assert [hidden_retries(m) for m in (cheap, strong)] == [2, 2]


def test_agent_middleware_with_a_retry_policy(provider_simulator: ProviderSimulator) -> None:
    """With a Retry in the middleware's policies the agent's model is still swapped for its
    retry-free copy and no Retry.like_sdk is added: a 503 that never clears is exactly
    Retry's 3 attempts at the simulator (not 3 × 3), each a ledger record."""
    sim = provider_simulator
    clock, ledger = FakeClock(), MemoryLedger()
    policy = Retry(clock=clock, sleep=clock.sleep, async_sleep=clock.asleep, rng=random.Random(1))
    user = chat_openai(sim, "gpt-4o-mini")
    middleware = TokenomyMiddleware([policy], ledger=ledger)
    agent = create_agent(model=user, middleware=[middleware])
    sim.inject(UNAVAILABLE, times=None)
    with pytest.raises(openai.InternalServerError):
        agent.invoke(_agent_input())
    assert len(sim.requests) == 3
    assert [(a, e) for a, e, _ in attempts(ledger)] == [(n, "OpenAIAPIError") for n in (1, 2, 3)]
    assert middleware.taken_over(user)[1] is middleware.pipeline


def test_agent_middleware_leaves_a_retry_free_model_alone(
    provider_simulator: ProviderSimulator,
) -> None:
    """A model built with max_retries=0 is used as given, with the middleware's own pipeline
    (nothing added)."""
    user = ChatOpenAI(model="gpt-4o-mini", base_url=provider_simulator.openai_base_url,
                      api_key="t", max_retries=0)
    middleware = TokenomyMiddleware([MaxTokens(64)])
    assert middleware.taken_over(user) == (user, middleware.pipeline)


@pytest.mark.parametrize("run_async", [False, True], ids=["invoke", "ainvoke"])
def test_with_resilience_takes_the_chain_models_retries_over(
    provider_simulator: ProviderSimulator, run_async: bool
) -> None:
    """with_resilience(prompt | ChatOpenAI(max_retries=2).bind(...) | parser, Retry) inside
    track(): the model in the chain (under a binding) is swapped for its retry-free copy, so
    two 503s then an answer are 3 requests, each a ledger record of the callback handler
    with the chain's attempt number (1 and 2 failed with their error class, 3 answered):
    retry_summary counts 2 retries. The user's chain still holds the user's model."""
    sim = provider_simulator
    user = chat_openai(sim, "gpt-4o-mini")
    bound = user.bind(stop=["\n\n\n"])
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | bound | StrOutputParser()
    clock, ledger = FakeClock(), MemoryLedger()
    policy = Retry(clock=clock, sleep=clock.sleep, async_sleep=clock.asleep, rng=random.Random(1))
    resilient = with_resilience(chain, policy)
    sim.inject(UNAVAILABLE, times=2)
    with tokenomy_langchain.track(ledger=ledger):
        answer = (asyncio.run(resilient.ainvoke({"q": "hi"})) if run_async
                  else resilient.invoke({"q": "hi"}))
    assert answer
    assert len(sim.requests) == 3 and clock.sleeps == [0.01, 0.01]
    assert attempts(ledger) == [
        (1, "OpenAIAPIError", "gpt-4o-mini"),
        (2, "OpenAIAPIError", "gpt-4o-mini"),
        (3, None, "gpt-4o-mini"),
    ]
    assert not any(k.startswith("_tokenomy") for r in ledger.query() for k in r.tags)
    summary = retry_summary(ledger.query())
    assert (summary.attempts, summary.retries, summary.failed_attempts) == (3, 2, 2)
    assert chain.steps[1] is bound and bound.bound is user  # type: ignore[attr-defined]
    assert hidden_retries(user) == 2 and user.root_client.max_retries == 2


class _Opaque(Runnable[Any, Any]):
    """A runnable that is no pydantic model: with_resilience cannot see what it calls."""

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return input


def test_with_resilience_warns_once_where_it_cannot_see(
    provider_simulator: ProviderSimulator,
) -> None:
    """A RunnableLambda whose code calls a retrying ChatOpenAI, and a non-pydantic runnable,
    each get one TokenomyWarning naming max_retries=0 (however often wrapped); a lambda that
    uses no model, and a model built with max_retries=0 inside a lambda, get none."""
    from tokenomy_langchain._resilience import _WARNED

    user = chat_openai(provider_simulator, "gpt-4o-mini")
    quiet = ChatOpenAI(model="gpt-4o-mini", base_url=provider_simulator.openai_base_url,
                       api_key="t", max_retries=0)

    def ask(text: str) -> str:
        return str(user.invoke(text).content)

    def ask_quietly(text: str) -> str:
        return str(quiet.invoke(text).content)

    for key in ("RunnableLambda using ChatOpenAI", "_Opaque"):
        _WARNED.forget(("with_resilience", key))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            with_resilience(RunnableLambda(ask), Retry())
            with_resilience(RunnableLambda(str.upper) | _Opaque(), Retry())
        with_resilience(RunnableLambda(ask_quietly), Retry())
    hits = sorted(str(w.message) for w in caught if issubclass(w.category, TokenomyWarning))
    assert len(hits) == 2
    assert "inside a RunnableLambda using ChatOpenAI" in hits[0]
    assert "inside a _Opaque" in hits[1]
    assert all("max_retries=0" in h for h in hits)


def _long_chat(turns: int = 12) -> list[dict[str, str]]:
    history = [{"role": "system", "content": "You are terse."}]
    for i in range(turns):
        history.append({"role": "user", "content": f"question {i} " + "word " * 30})
        history.append({"role": "assistant", "content": f"answer {i} " + "reply " * 30})
    history.append({"role": "user", "content": "and now?"})
    return history


@pytest.mark.parametrize("run_async", [False, True], ids=["window", "awindow"])
def test_chat_model_summarizer_takes_the_retries_over(
    provider_simulator: ProviderSimulator, run_async: bool
) -> None:
    """ChatModelSummarizer(ChatOpenAI(max_retries=2)) in a ConversationMemory: the summary
    call's two 503s and its answer are 3 requests and 3 ledger records tagged purpose=memory
    (attempts 1-2 failed with their error class), through the summarizer's Retry.like_sdk;
    the user's model still retries on its own."""
    from tokenomy import ConversationMemory
    from tokenomy_langchain import ChatModelSummarizer

    sim = provider_simulator
    user = chat_openai(sim, "gpt-4o-mini")
    summarizer = ChatModelSummarizer(user)
    assert [type(p).__name__ for p in summarizer.policies] == ["Retry"]
    assert hidden_retries(summarizer.chat_model) == 0
    ledger = MemoryLedger()
    memory = ConversationMemory(max_tokens=300, summary_max_tokens=60, summarizer=summarizer,
                                ledger=ledger)
    sim.inject(UNAVAILABLE, times=2)
    view = (asyncio.run(memory.awindow(_long_chat(), conversation="c"))
            if run_async else memory.window(_long_chat(), conversation="c"))
    assert view.summary
    assert len(sim.requests) == 3
    assert attempts(ledger) == [
        (1, "OpenAIAPIError", "gpt-4o-mini"),
        (2, "OpenAIAPIError", "gpt-4o-mini"),
        (3, None, "gpt-4o-mini"),
    ]
    assert {r.tags["purpose"] for r in ledger.query()} == {"memory"}
    assert hidden_retries(user) == 2 and user.root_client.max_retries == 2


@pytest.mark.parametrize("run_async", [False, True], ids=["invoke", "ainvoke"])
def test_a_wrapper_without_policies_takes_the_retries_over(
    provider_simulator: ProviderSimulator, run_async: bool
) -> None:
    """TokenomyChatModel(ChatOpenAI(max_retries=2)) with no policies at all: its pipeline is
    Retry.like_sdk alone, so two 503s then an answer are 3 requests and 3 records (not one
    record for three requests)."""
    from tokenomy_langchain import TokenomyChatModel

    sim = provider_simulator
    user = chat_openai(sim, "gpt-4o-mini")
    ledger = MemoryLedger()
    model = TokenomyChatModel(user, ledger=ledger)
    assert [type(p).__name__ for p in model._pipeline.policies] == ["Retry"]
    sim.inject(UNAVAILABLE, times=2)
    answer = asyncio.run(model.ainvoke("hi")) if run_async else model.invoke("hi")
    assert answer.content
    assert len(sim.requests) == 3
    assert [(a, e) for a, e, _ in attempts(ledger)] == [
        (1, "OpenAIAPIError"), (2, "OpenAIAPIError"), (3, None)]
    assert hidden_retries(user) == 2


@pytest.mark.parametrize("run_async", [False, True], ids=["embed", "aembed"])
def test_embeddings_take_the_retries_over(
    provider_simulator: ProviderSimulator, run_async: bool
) -> None:
    """TokenomyEmbeddings(OpenAIEmbeddings(max_retries=2)): its clients (the embeddings
    resources) are rebuilt without retries and Retry.like_sdk retries instead, so two 503s
    then the vectors are 3 requests and 3 records of kind embedding; the user's embeddings
    keep their retrying clients."""
    from langchain_openai import OpenAIEmbeddings

    from tokenomy_langchain import TokenomyEmbeddings

    sim = provider_simulator
    user = OpenAIEmbeddings(model="text-embedding-3-small", base_url=sim.openai_base_url,
                            api_key="t", check_embedding_ctx_length=False)  # type: ignore[arg-type]
    assert hidden_retries(user) == 2
    ledger = MemoryLedger()
    wrapped = TokenomyEmbeddings(user, ledger=ledger)
    assert hidden_retries(wrapped.embeddings) == 0 and wrapped.embeddings is not user
    sim.inject(UNAVAILABLE, times=2)
    vector = (asyncio.run(wrapped.aembed_query("hi")) if run_async
              else wrapped.embed_query("hi"))
    assert vector
    assert len(sim.requests) == 3
    records = sorted(ledger.query(), key=lambda r: r.attempt)
    assert [(r.attempt, r.error is not None, r.kind) for r in records] == [
        (1, True, "embedding"), (2, True, "embedding"), (3, False, "embedding")]
    assert hidden_retries(user) == 2 and user.client._client.max_retries == 2
