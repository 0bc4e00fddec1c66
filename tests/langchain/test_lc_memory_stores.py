"""TokenomyChatHistory over real history stores (SQLite and PostgreSQL through LangChain's
SQLChatMessageHistory, Redis through RedisChatMessageHistory) and TokenomyMiddleware with the
memory in a create_agent agent: the store keeps the whole conversation, reads are windowed."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from lc_sim import openai_chat

from services import require_postgres, require_redis
from tokenomy import ConversationMemory, MemoryLedger, sequence_problems
from tokenomy.testing import Answer, ProviderSimulator, RecordingPolicy
from tokenomy_langchain import TokenomyChatHistory, TokenomyMiddleware
from tokenomy_langchain._translate import to_dicts

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from langchain_community.chat_message_histories import (
        RedisChatMessageHistory,
        SQLChatMessageHistory,
    )


def _conversation() -> list[Any]:
    history: list[Any] = [SystemMessage("You check the weather.")]
    for i in range(8):
        history += [
            HumanMessage(f"Weather in city {i}? " + "please " * 20),
            AIMessage("", tool_calls=[{"id": f"t{i}", "name": "weather", "args": {"city": f"c{i}"}}]),
            ToolMessage(f"Sunny, {20 + i} degrees. " * 8, tool_call_id=f"t{i}"),
            AIMessage(f"It is sunny in city {i}. " * 4),
        ]
    return history


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BaseChatMessageHistory]:
    """A real history store, holding only this test's session."""
    session = f"tokenomy-memory-{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        yield SQLChatMessageHistory(session, connection=f"sqlite:///{tmp_path / 'h.db'}")
    elif request.param == "postgres":
        url = require_postgres().replace("postgresql://", "postgresql+psycopg://", 1)
        table = f"tokenomy_memory_{uuid.uuid4().hex[:10]}"
        history = SQLChatMessageHistory(session, connection=url, table_name=table)
        try:
            yield history
        finally:
            import psycopg

            with psycopg.connect(require_postgres(), autocommit=True) as conn:
                conn.execute(f'DROP TABLE IF EXISTS "{table}"')
    else:
        url = require_redis()
        history = RedisChatMessageHistory(session, url=url, key_prefix="tokenomy-test-memory:")
        try:
            yield history
        finally:
            history.clear()  # deletes this session's one key


def test_window_over_a_real_store(store: BaseChatMessageHistory) -> None:
    """Messages written through the wrapper land in the store whole; a read (new message
    objects from the database each time) is the window: under budget, valid for OpenAI and
    Anthropic, the last stored message last; repeated reads give the same window."""
    memory = ConversationMemory(max_tokens=350)
    history = TokenomyChatHistory(store, memory, conversation="s")
    history.add_messages(_conversation())
    history.add_messages([HumanMessage("And tomorrow?")])
    assert len(history.full_messages) == 34
    window = history.messages
    dicts = to_dicts(window)
    assert sequence_problems(dicts, "openai") == [] and sequence_problems(dicts, "anthropic") == []
    assert window[-1].content == "And tomorrow?" and len(window) < 34
    assert memory.stats("s").last_sent <= 350
    assert [m.content for m in history.messages] == [m.content for m in window]
    assert memory.stats("s").reads == 2


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}. " * 20


def test_memory_in_create_agent_middleware(provider_simulator: ProviderSimulator) -> None:
    """TokenomyMiddleware([memory]) windows each model call of a create_agent agent given a
    long history: both calls of the tool loop are valid requests (the simulator answers) and
    the second keeps the new tool call with its result; the agent's state keeps everything."""
    provider_simulator.script(Answer.tool("weather", {"city": "Paris"}), "It is sunny in Paris.")
    seen = RecordingPolicy()
    memory = ConversationMemory(max_tokens=400)
    agent = create_agent(
        openai_chat(provider_simulator),
        tools=[weather],
        system_prompt="You answer weather questions.",
        middleware=[TokenomyMiddleware([memory, seen], ledger=MemoryLedger())],
    )
    past = [m for m in _conversation() if not isinstance(m, SystemMessage)]
    state = agent.invoke({"messages": [*past, HumanMessage("Weather in Paris?")]})
    assert state["messages"][-1].content == "It is sunny in Paris."
    assert len(state["messages"]) == len(past) + 4
    first, second = seen.requests
    assert len(first.messages) < len(past) and memory.stats().last_sent <= 400
    assert second.messages[-1]["role"] == "tool" and second.messages[-2]["tool_calls"]
    for request in (first, second):
        assert sequence_problems(list(request.messages), "openai") == []
    assert all(c.usage.input <= 400 + 120 for c in provider_simulator.calls)  # + the tool schema
