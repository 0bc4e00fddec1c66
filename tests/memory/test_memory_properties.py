"""Property tests: over random conversations with tool calls, a window is always under its
budget (counted again from scratch with ``tokenomy.tokens``) and always a valid sequence for
OpenAI and Anthropic, for the window alone and with a summarising memory."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_conversations import conversations
from tokenomy import ConversationMemory, MemoryBudgetError, MemoryLedger, sequence_problems
from tokenomy.memory import required_tokens
from tokenomy.testing import FakeSummarizer
from tokenomy.tokens import estimate_call, estimate_messages

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _recount(messages: list[dict[str, Any]], provider: str | None) -> int:
    if provider == "anthropic":
        return estimate_call(messages, None, model="claude-sonnet-4-5", provider="anthropic").input
    return estimate_messages(messages, "gpt-4o").prompt_tokens


def _is_subsequence(part: list[Any], whole: list[Any]) -> bool:
    it = iter(whole)
    return all(any(x is y for y in it) for x in part)


@SETTINGS
@given(
    history=conversations(),
    budget=st.integers(1, 1500),
    turns=st.none() | st.integers(1, 6),
    provider=st.sampled_from([None, "anthropic"]),
)
def test_window_is_under_budget_and_valid(
    history: list[dict[str, Any]], budget: int, turns: int | None, provider: str | None
) -> None:
    """The window's messages recounted from scratch fit the budget, keep every system message
    and the last message, come from the history in order, and pass the OpenAI and Anthropic
    sequence checks; when they cannot fit, MemoryBudgetError carries the numbers."""
    model = "claude-sonnet-4-5" if provider else "gpt-4o"
    memory = ConversationMemory(max_tokens=budget, max_turns=turns, model=model, provider=provider)
    needed = required_tokens(memory.counter().infos(history), priming=memory.counter().priming)
    if needed > budget:
        with pytest.raises(MemoryBudgetError) as info:
            memory.window(history)
        assert info.value.needed == needed and info.value.budget == budget
        return
    view = memory.window(history)
    sent = view.messages
    assert _recount(sent, provider) <= budget
    assert view.tokens <= budget
    assert _is_subsequence(sent, history)
    assert sent[-1] is history[-1] or history[-1]["role"] == "assistant"
    assert all(m in sent for m in history if m["role"] == "system")
    assert sequence_problems(sent, "openai") == []
    assert sequence_problems(sent, "anthropic") == []
    if turns is not None:
        assert sum(m["role"] == "user" for m in sent) <= turns


@SETTINGS
@given(history=conversations(min_turns=3, max_turns=14), budget=st.integers(200, 900))
def test_summarising_replay_is_under_budget_and_valid(
    history: list[dict[str, Any]], budget: int
) -> None:
    """Replaying a conversation message by message through a summarising memory: every read
    fits the budget (summary included) and is valid for both providers; no message is ever
    summarised twice (each summary call carries only the newly evicted messages)."""
    summarizer = FakeSummarizer()
    memory = ConversationMemory(
        max_tokens=budget, summarizer=summarizer, summary_max_tokens=60, ledger=MemoryLedger()
    )
    for end in range(1, len(history) + 1):
        if history[end - 1]["role"] == "system" or (
            history[end - 1]["role"] == "assistant" and history[end - 1].get("tool_calls")
        ):
            continue  # a request has a turn, and never ends on calls waiting for results
        try:
            view = memory.window(history[:end])
        except MemoryBudgetError:
            continue
        assert _recount(view.messages, None) <= budget
        assert sequence_problems(view.messages, "openai") == []
        assert sequence_problems(view.messages, "anthropic") == []
    seen: list[str] = []
    for request in summarizer.requests:
        turns = str(request.messages[-1]["content"]).split("New turns:\n", 1)[1]
        seen += [line for line in turns.splitlines() if line.startswith("User: u")]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-5", "gpt-4o-mini"])
@SETTINGS
@given(history=conversations())
def test_counts_add_up_to_the_whole_request(model: str, history: list[dict[str, Any]]) -> None:
    """Per-message counts (cached) plus the request's fixed tokens equal estimate_messages of
    the whole list: counting message by message loses nothing."""
    memory = ConversationMemory(max_tokens=10**9, model=model)
    counter = memory.counter()
    assert counter.total(counter.infos(history)) == estimate_messages(history, model).prompt_tokens
    view = memory.window(history)
    assert view.full_tokens == estimate_messages(history, model).prompt_tokens
