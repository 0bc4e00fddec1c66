"""TokenomyMiddleware in a LangChain v1 ``create_agent`` agent and TokenomyEmbeddings, end to
end with the real ChatOpenAI / ChatAnthropic / OpenAIEmbeddings clients on the simulator."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import tool
from langchain_openai import OpenAIEmbeddings
from lc_sim import anthropic, assert_ledger_matches, openai_chat, price

import tokenomy_langchain
from tokenomy import MaxTokens, MemoryLedger
from tokenomy.testing import Answer, ProviderSimulator, RecordingPolicy
from tokenomy_langchain import TokenomyCallbackHandler, TokenomyEmbeddings, TokenomyMiddleware

Factory = Callable[[ProviderSimulator], BaseChatModel]


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}."


@pytest.mark.parametrize(
    ("make", "field"),
    [(openai_chat, "max_completion_tokens"), (anthropic, "max_tokens")],
    ids=["openai", "anthropic"],
)
def test_agent_with_middleware_and_tool(
    provider_simulator: ProviderSimulator, make: Factory, field: str
) -> None:
    """A create_agent agent with a tool and TokenomyMiddleware([MaxTokens(64)]), run inside
    track() with a handler attached: its 2 model calls are recorded once each, as served,
    with max_tokens=64 in both request bodies; the tool round trip reached the model."""
    provider_simulator.script(Answer.tool("get_weather", {"city": "Paris"}), "It is sunny in Paris.")
    ledger = MemoryLedger()
    recorder = RecordingPolicy()
    agent = create_agent(
        make(provider_simulator),
        tools=[get_weather],
        system_prompt="You answer weather questions.",
        middleware=[TokenomyMiddleware([recorder, MaxTokens(64)], ledger=ledger)],
    )
    handler = TokenomyCallbackHandler(ledger=MemoryLedger())
    with tokenomy_langchain.track(ledger=MemoryLedger(), feature="weather") as tracker:
        state = agent.invoke(
            {"messages": [{"role": "user", "content": "Weather in Paris?"}]},
            config={"callbacks": [handler]},
        )
    assert state["messages"][-1].content == "It is sunny in Paris."
    records = assert_ledger_matches(ledger, provider_simulator, calls=2)
    assert [r.body[field] for r in provider_simulator.requests] == [64, 64]
    assert "Sunny in Paris." in str(provider_simulator.requests[1].body["messages"])
    assert handler.recorded == 0 and tracker.calls == 2
    assert {r.tags["feature"] for r in records} == {"weather"}
    first = recorder.requests[0]
    assert first.messages[0]["role"] == "system" and [t["function"]["name"] for t in first.tools] == ["get_weather"]


async def test_agent_async(provider_simulator: ProviderSimulator) -> None:
    """ainvoke of the agent goes through awrap_model_call: 2 records as served, limit sent."""
    provider_simulator.script(Answer.tool("get_weather", {"city": "Oslo"}), "Sunny in Oslo.")
    ledger = MemoryLedger()
    agent = create_agent(
        openai_chat(provider_simulator),
        tools=[get_weather],
        middleware=[TokenomyMiddleware([MaxTokens(32)], ledger=ledger)],
    )
    with tokenomy_langchain.track(ledger=MemoryLedger()):
        state = await agent.ainvoke({"messages": [{"role": "user", "content": "Oslo?"}]})
    assert state["messages"][-1].content == "Sunny in Oslo."
    assert_ledger_matches(ledger, provider_simulator, calls=2)
    assert [r.body["max_completion_tokens"] for r in provider_simulator.requests] == [32, 32]


def _embeddings(sim: ProviderSimulator, **kw: Any) -> OpenAIEmbeddings:
    return OpenAIEmbeddings(
        model="text-embedding-3-small",
        base_url=sim.openai_base_url,
        api_key="test",  # type: ignore[arg-type]
        max_retries=0,
        check_embedding_ctx_length=False,
        **kw,
    )


async def test_embeddings_every_call_is_recorded(provider_simulator: ProviderSimulator) -> None:
    """embed_documents, embed_query and their async forms: 4 records of kind embedding, the
    served model, the input tokens the simulator billed (counted locally, flagged estimated:
    LangChain returns no usage) and their price; vectors as the wrapped embeddings return."""
    ledger = MemoryLedger()
    plain = _embeddings(provider_simulator)
    wrapped = TokenomyEmbeddings(_embeddings(provider_simulator), ledger=ledger, tags={"feature": "rag"})
    docs = ["Paris is the capital of France.", "Rome is the capital of Italy."]
    assert wrapped.embed_documents(docs) == plain.embed_documents(docs)
    assert wrapped.embed_query("capital of France") == plain.embed_query("capital of France")
    assert len(await wrapped.aembed_documents(docs)) == 2
    assert len(await wrapped.aembed_query("capital of Italy")) > 0
    calls = provider_simulator.calls
    served = [calls[0], calls[2], calls[4], calls[5]]  # the wrapped calls (plain ones between)
    got = sorted(ledger.query(), key=lambda r: r.timestamp)
    assert [r.kind for r in got] == ["embedding"] * 4
    assert [(r.model, r.usage.input, r.usage.output) for r in got] == [
        (c.model, c.usage.input, 0) for c in served
    ]
    assert all(r.estimated and r.total_cost == price(r.model, c.usage) for r, c in zip(got, served, strict=True))
    assert {r.tags["feature"] for r in got} == {"rag"} and {r.provider for r in got} == {"openai"}


def test_import_does_not_load_langchain_agents() -> None:
    """`import tokenomy_langchain` imports neither the `langchain` (agents) package nor the
    wrappers; the middleware loads it on first use."""
    code = (
        "import sys, tokenomy_langchain;"
        "assert 'langchain' not in sys.modules and 'langchain.agents' not in sys.modules;"
        "assert 'tokenomy_langchain._chat_model' not in sys.modules;"
        "tokenomy_langchain.TokenomyMiddleware; assert 'langchain.agents' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_namespace_all_is_sorted_and_resolves() -> None:
    """tokenomy_langchain.__all__ is sorted, lists the wrappers, and every name resolves."""
    names = tokenomy_langchain.__all__
    assert list(names) == sorted(names)
    assert {"TokenomyChatModel", "TokenomyEmbeddings", "TokenomyMiddleware"} <= set(names)
    for name in names:
        assert getattr(tokenomy_langchain, name) is not None
    assert set(names) <= set(dir(tokenomy_langchain))
