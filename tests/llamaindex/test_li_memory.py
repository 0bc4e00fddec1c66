"""TokenomyMemoryBuffer / TokenomySummaryMemoryBuffer / LLMSummarizer end to end: a real chat
engine and the real OpenAI and Anthropic LlamaIndex LLMs against the provider simulator, tool
call blocks counted, and the memory as a TokenomyLLM policy."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from li_wrapper_helpers import anthropic_llm, openai_llm, wrap
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.storage.chat_store import SimpleChatStore

from memory_conversations import conversations
from tokenomy import ConfigurationError, ConversationMemory, MemoryLedger, sequence_problems
from tokenomy.testing import Answer, FakeSummarizer, ProviderSimulator
from tokenomy_llamaindex import LLMSummarizer, TokenomyMemoryBuffer, TokenomySummaryMemoryBuffer
from tokenomy_llamaindex._translate import message_dicts

QUESTION = "Tell me more about the history of the city and its museums, in detail please. " * 3


def test_chat_engine_with_summary_memory(provider_simulator: ProviderSimulator) -> None:
    """A SimpleChatEngine with TokenomySummaryMemoryBuffer: the store keeps all 24 messages,
    each provider request stays under the budget, evicted turns are summarised by real
    gpt-4o-mini calls recorded with purpose=memory, and the figures add up."""
    sim = provider_simulator
    ledger = MemoryLedger()
    store = SimpleChatStore()
    memory = TokenomySummaryMemoryBuffer.from_defaults(
        llm=openai_llm(sim),
        token_limit=600,
        chat_store=store,
        chat_store_key="user-1",
        summary_max_tokens=80,
        model="gpt-4o-mini",
        ledger=ledger,
    )
    engine = SimpleChatEngine.from_defaults(llm=openai_llm(sim), memory=memory)
    for turn in range(12):
        engine.chat(f"{turn}: {QUESTION}")
    assert len(store.get_messages("user-1")) == 24
    summaries = [r for r in ledger.query() if r.tags.get("purpose") == "memory"]
    chats = [
        c
        for c in sim.calls
        if "Summary so far" not in str(c.body) and "New turns" not in str(c.body)
    ]
    assert len(chats) == 12 and len(summaries) == len(sim.calls) - 12 >= 1
    assert all(c.usage.input <= 600 + 10 for c in chats)
    bodies = [c.body for c in sim.calls if c not in chats]
    assert all(b.get("max_completion_tokens", b.get("max_tokens")) <= 80 for b in bodies)
    stats = memory.stats
    assert stats.summary_calls == len(summaries) and stats.tokens_saved > 0
    assert all(r.tags["conversation"] == "user-1" for r in summaries)
    assert {r.framework for r in summaries} == {"llamaindex"}


def test_async_chat_engine_awaits_the_summary(provider_simulator: ProviderSimulator) -> None:
    """achat reads the memory with aget, summarising through the LLM's achat."""
    sim = provider_simulator
    memory = TokenomySummaryMemoryBuffer.from_defaults(
        llm=openai_llm(sim),
        token_limit=300,
        summary_max_tokens=60,
        model="gpt-4o-mini",
        ledger=MemoryLedger(),
    )
    engine = SimpleChatEngine.from_defaults(llm=openai_llm(sim), memory=memory)

    async def run() -> None:
        for turn in range(8):
            await engine.achat(f"{turn}: {QUESTION}")

    asyncio.run(run())
    assert memory.stats.summary_calls >= 1


def _tool_history() -> list[ChatMessage]:
    history = [ChatMessage(role=MessageRole.SYSTEM, content="You check the weather.")]
    for i in range(10):
        call = ChatMessage(role=MessageRole.ASSISTANT, content="")
        call.blocks.append(
            ToolCallBlock(
                tool_call_id=f"t{i}",
                tool_name="weather",
                tool_kwargs={"city": f"c{i}", "detail": "x" * 200},
            )
        )
        history += [
            ChatMessage(role=MessageRole.USER, content=f"Weather in city {i}? " + "please " * 20),
            call,
            ChatMessage(
                role=MessageRole.TOOL,
                content=f"Sunny, {20 + i} degrees. " * 10,
                additional_kwargs={"tool_call_id": f"t{i}"},
            ),
            ChatMessage(role=MessageRole.ASSISTANT, content=f"It is sunny in city {i}. " * 5),
        ]
    history.append(ChatMessage(role=MessageRole.USER, content="And tomorrow?"))
    return history


def test_tool_call_blocks_are_counted_and_kept_whole() -> None:
    """Tool-call blocks count toward the budget (their arguments included), so the window is
    under budget by tokenomy's count of the whole request, valid for both providers; the
    same budget in ChatMemoryBuffer, which counts text only, sends more."""
    from tokenomy.tokens import estimate_messages

    history = _tool_history()
    buffer = TokenomyMemoryBuffer.from_defaults(chat_history=history, token_limit=500)
    window = buffer.get()
    dicts = message_dicts(window)
    assert estimate_messages(dicts, "gpt-4o").prompt_tokens <= 500
    assert sequence_problems(dicts, "openai") == [] and sequence_problems(dicts, "anthropic") == []
    anchor = ChatMemoryBuffer.from_defaults(chat_history=history, token_limit=500).get()
    assert estimate_messages(message_dicts(anchor), "gpt-4o").prompt_tokens > 500


def test_initial_token_count_leaves_room() -> None:
    """get(initial_token_count=n) keeps n tokens of the budget free (a chat engine's prompt)."""
    history = _tool_history()
    buffer = TokenomyMemoryBuffer.from_defaults(chat_history=history, token_limit=800)
    assert buffer.stats.reads == 0
    full = buffer.get()
    less = buffer.get(initial_token_count=400)
    assert len(less) < len(full) and buffer.stats.last_sent <= 400


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_memory_policy_in_tokenomy_llm(
    provider_simulator: ProviderSimulator, provider: str
) -> None:
    """As a TokenomyLLM policy the window of a tool-calling history reaches the real provider
    client valid (the simulator answers) and under budget."""
    sim = provider_simulator
    llm: Any = anthropic_llm(sim) if provider == "anthropic" else openai_llm(sim)
    memory = ConversationMemory(
        max_tokens=450, provider="anthropic" if provider == "anthropic" else None
    )
    answer = wrap(llm, MemoryLedger(), [memory]).chat(_tool_history())
    assert answer.message.content
    (call,) = sim.calls
    assert call.usage.input <= 450 + (20 if provider == "anthropic" else 0)
    assert memory.stats().last_full > 1500


def test_reset_forgets_the_summary_and_bad_arguments() -> None:
    """reset() clears the store and the summary; a summary buffer without llm says so."""
    memory = TokenomySummaryMemoryBuffer.from_defaults(
        chat_history=_tool_history(),
        token_limit=400,
        summarizer=FakeSummarizer(),
        summary_max_tokens=50,
        ledger=MemoryLedger(),
    )
    memory.get()
    assert memory.memory.summary(memory.chat_store_key)
    memory.reset()
    assert memory.get_all() == [] and memory.memory.summary(memory.chat_store_key) == ""
    with pytest.raises(ConfigurationError, match="needs llm="):
        TokenomySummaryMemoryBuffer.from_defaults(token_limit=100)
    with pytest.raises(ConfigurationError, match="LlamaIndex LLM"):
        LLMSummarizer(object())  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=conversations(), budget=st.integers(150, 1200))
def test_property_llamaindex_window_is_valid_and_under_budget(
    history: list[dict[str, Any]], budget: int
) -> None:
    """Random conversations with tool calls as LlamaIndex ChatMessages (tool calls as
    ToolCallBlocks) in a SimpleChatStore: TokenomyMemoryBuffer.get() is under budget by a
    fresh count of the converted window and valid for OpenAI and Anthropic."""
    from tokenomy import MemoryBudgetError
    from tokenomy.tokens import estimate_messages
    from tokenomy_llamaindex._translate import chat_message_of

    messages = [chat_message_of(m) for m in history]
    buffer = TokenomyMemoryBuffer.from_defaults(chat_history=messages, token_limit=budget)
    try:
        window = buffer.get()
    except MemoryBudgetError:
        return
    dicts = message_dicts(window)
    assert estimate_messages(dicts, "gpt-4o").prompt_tokens <= budget
    assert sequence_problems(dicts, "openai") == [] and sequence_problems(dicts, "anthropic") == []


def weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}. " * 30


def test_function_agent_with_tokenomy_memory(provider_simulator: ProviderSimulator) -> None:
    """A FunctionAgent run with memory=TokenomyMemoryBuffer over a long history: the tool loop
    completes (both requests valid for the real OpenAI client and the simulator), each window
    the memory gives stays under its budget, and the store keeps every message, the tool call
    block and its result included."""
    from llama_index.core.agent.workflow import FunctionAgent

    sim = provider_simulator
    sim.script(Answer.tool("weather", {"city": "Paris"}), "It is sunny in Paris.")
    past: list[ChatMessage] = []
    for i in range(10):
        past += [
            ChatMessage(role=MessageRole.USER, content=f"question {i} " + "word " * 30),
            ChatMessage(role=MessageRole.ASSISTANT, content=f"answer {i} " + "reply " * 30),
        ]
    memory = TokenomyMemoryBuffer.from_defaults(chat_history=past, token_limit=400)
    agent = FunctionAgent(
        tools=[weather], llm=openai_llm(sim), system_prompt="You answer weather questions."
    )

    async def run() -> Any:
        return await agent.run("Weather in Paris?", memory=memory)

    assert str(asyncio.run(run())) == "It is sunny in Paris."
    assert len(memory.get_all()) == 24
    assert memory.stats.reads >= 2 and memory.stats.largest_sent <= 400
    assert memory.stats.last_full > 900
    for call in sim.calls:
        assert sequence_problems(call.body["messages"], "openai") == []


def test_to_dict_and_back_keeps_the_window_settings() -> None:
    """to_dict()/from_dict() (how LlamaIndex persists memories) round-trips the store and the
    window's limits; the live ConversationMemory is rebuilt, not serialised."""
    store = SimpleChatStore()
    buffer = TokenomyMemoryBuffer.from_defaults(
        token_limit=250, max_turns=3, model="gpt-4o", chat_store=store, chat_store_key="k"
    )
    data = buffer.to_dict()
    assert "memory" not in data and data["token_limit"] == 250
    again = TokenomyMemoryBuffer.from_dict(data)
    assert isinstance(again.memory, ConversationMemory) and again.memory is not buffer.memory
    assert (again.memory.max_tokens, again.memory.max_turns, again.memory.model) == (
        250,
        3,
        "gpt-4o",
    )
    assert again.chat_store_key == "k" and isinstance(again.chat_store, SimpleChatStore)
