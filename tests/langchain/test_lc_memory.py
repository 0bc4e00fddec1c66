"""TokenomyChatHistory and ChatModelSummarizer end to end: RunnableWithMessageHistory over an
in-memory store, real ChatOpenAI / ChatAnthropic clients against the provider simulator, and
the memory as a TokenomyChatModel policy on a history with tool calls."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.chat_history import InMemoryChatMessageHistory
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory
from lc_sim import anthropic, openai_chat

from memory_conversations import conversations
from tokenomy import ConfigurationError, ConversationMemory, MemoryLedger, sequence_problems
from tokenomy.testing import ProviderSimulator
from tokenomy_langchain import ChatModelSummarizer, TokenomyChatHistory, TokenomyChatModel
from tokenomy_langchain._translate import to_dicts

QUESTION = "Tell me more about the history of the city and its museums, in detail please. " * 3


def _chain(sim: ProviderSimulator, memory: ConversationMemory, stores: dict[str, Any]) -> Any:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a guide."), MessagesPlaceholder("history"), ("human", "{question}")]
    )

    def history(session_id: str) -> TokenomyChatHistory:
        store = stores.setdefault(session_id, InMemoryChatMessageHistory())
        return TokenomyChatHistory(store, memory, conversation=session_id)

    return RunnableWithMessageHistory(
        prompt | openai_chat(sim),
        history,
        input_messages_key="question",
        history_messages_key="history",
    )


def test_runnable_with_message_history_sends_the_window(
    provider_simulator: ProviderSimulator,
) -> None:
    """Over 12 turns the store keeps every message while each request the provider receives
    stays under the budget (plus the prompt's own system and question), the evicted turns are
    summarised by a real gpt-4o-mini call recorded with purpose=memory, and the figures say
    what was saved."""
    sim = provider_simulator
    ledger = MemoryLedger()
    memory = ConversationMemory(
        max_tokens=600,
        model="gpt-4o-mini",
        summary_max_tokens=80,
        ledger=ledger,
        summarizer=ChatModelSummarizer(openai_chat(sim)),
    )
    stores: dict[str, Any] = {}
    chain = _chain(sim, memory, stores)
    for turn in range(12):
        chain.invoke(
            {"question": f"{turn}: {QUESTION}"}, config={"configurable": {"session_id": "s1"}}
        )
    assert len(stores["s1"].messages) == 24
    chats = [c for c in sim.calls if "You are a guide." in str(c.body)]
    assert len(chats) == 12
    question_tokens = 100  # the template's system message and the new question, at most
    assert all(c.usage.input <= 600 + question_tokens for c in chats)
    assert chats[-1].usage.input < chats[5].usage.input * 2
    summaries = [r for r in ledger.query() if r.tags.get("purpose") == "memory"]
    assert summaries and all(
        r.tags["conversation"] == "s1" and r.cost is not None for r in summaries
    )
    assert len(summaries) == len(sim.calls) - 12
    summary_bodies = [c.body for c in sim.calls if "You are a guide." not in str(c.body)]
    assert all(b.get("max_completion_tokens", b.get("max_tokens")) <= 80 for b in summary_bodies)
    stats = memory.stats("s1")
    assert stats.summary_calls == len(summaries)
    assert stats.summary_cost == sum(r.cost.total for r in summaries if r.cost)
    assert stats.tokens_saved > 0 and stats.cost_saved is not None and stats.cost_saved > 0


def test_async_history_reads_await_the_summary(provider_simulator: ProviderSimulator) -> None:
    """ainvoke reads the history through aget_messages, summarising with ainvoke."""
    sim = provider_simulator
    memory = ConversationMemory(
        max_tokens=300,
        model="gpt-4o-mini",
        summary_max_tokens=60,
        ledger=MemoryLedger(),
        summarizer=ChatModelSummarizer(openai_chat(sim)),
    )
    stores: dict[str, Any] = {}
    chain = _chain(sim, memory, stores)

    async def run() -> None:
        for turn in range(8):
            await chain.ainvoke(
                {"question": f"{turn}: {QUESTION}"}, config={"configurable": {"session_id": "a"}}
            )

    asyncio.run(run())
    assert memory.stats("a").summary_calls >= 1 and memory.summary("a")


def _tool_history() -> list[Any]:
    history: list[Any] = [SystemMessage("You check the weather.")]
    for i in range(10):
        history += [
            HumanMessage(f"What is the weather in city {i}? " + "please " * 20),
            AIMessage(
                "", tool_calls=[{"id": f"t{i}", "name": "weather", "args": {"city": f"c{i}"}}]
            ),
            ToolMessage(f"Sunny, {20 + i} degrees. " * 10, tool_call_id=f"t{i}"),
            AIMessage(f"It is sunny in city {i}. " * 5),
        ]
    history.append(HumanMessage("And tomorrow?"))
    return history


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_memory_policy_in_chat_model_keeps_tool_calls_whole(
    provider_simulator: ProviderSimulator, provider: str
) -> None:
    """As a TokenomyChatModel policy on a history with tool calls, the window the real client
    sends is valid for the provider (the simulator answers, no 400), under budget by the
    provider's count, and never splits a tool call from its result."""
    sim = provider_simulator
    chat = anthropic(sim) if provider == "anthropic" else openai_chat(sim)
    memory = ConversationMemory(
        max_tokens=400, provider=provider if provider == "anthropic" else None
    )
    model = TokenomyChatModel(chat, policies=[memory], ledger=MemoryLedger())
    answer = model.invoke(_tool_history())
    assert answer.content
    (call,) = sim.calls
    assert call.usage.input <= 400 + (20 if provider == "anthropic" else 0)
    stats = memory.stats()
    assert stats.last_full > 1500 and stats.last_sent <= 400


def test_window_of_langchain_messages_is_valid_for_both_providers() -> None:
    """Read through TokenomyChatHistory, a tool-calling history windows to a sequence both
    providers accept, ending with the stored last message."""
    store = InMemoryChatMessageHistory(messages=_tool_history())
    view = TokenomyChatHistory(store, ConversationMemory(max_tokens=300)).messages
    dicts = to_dicts(view)
    assert sequence_problems(dicts, "openai") == [] and sequence_problems(dicts, "anthropic") == []
    assert view[-1] is store.messages[-1] and len(view) < len(store.messages)


def test_bad_arguments() -> None:
    """Wrapping something that is not a history, or passing no ConversationMemory, says so."""
    with pytest.raises(ConfigurationError, match="BaseChatMessageHistory"):
        TokenomyChatHistory([], ConversationMemory(max_tokens=10))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="ConversationMemory"):
        TokenomyChatHistory(InMemoryChatMessageHistory(), object())  # type: ignore[arg-type]


def test_clear_forgets_the_summary() -> None:
    """clear() empties the store and the conversation's summary."""
    from tokenomy.testing import FakeSummarizer

    memory = ConversationMemory(
        max_tokens=300, summary_max_tokens=50, summarizer=FakeSummarizer(), ledger=MemoryLedger()
    )
    history = TokenomyChatHistory(
        InMemoryChatMessageHistory(messages=_tool_history()), memory, conversation="k"
    )
    history.messages
    assert memory.summary("k")
    history.clear()
    assert history.full_messages == [] and memory.summary("k") == ""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=conversations(), budget=st.integers(150, 1200))
def test_property_langchain_window_is_valid_and_under_budget(
    history: list[dict[str, Any]], budget: int
) -> None:
    """Random conversations with tool calls, stored as LangChain messages and read through
    TokenomyChatHistory: the window, converted back, is under budget by a fresh count and
    valid for OpenAI and Anthropic (or the current turn alone is over budget)."""
    from langchain_core.messages import convert_to_messages

    from tokenomy import MemoryBudgetError
    from tokenomy.tokens import estimate_messages

    store = InMemoryChatMessageHistory(messages=convert_to_messages(history))
    try:
        window = TokenomyChatHistory(store, ConversationMemory(max_tokens=budget)).messages
    except MemoryBudgetError:
        return
    dicts = to_dicts(window)
    assert estimate_messages(dicts, "gpt-4o").prompt_tokens <= budget
    assert sequence_problems(dicts, "openai") == [] and sequence_problems(dicts, "anthropic") == []
