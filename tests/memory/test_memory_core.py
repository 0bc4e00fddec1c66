"""ConversationMemory's behaviour: summaries recorded in the ledger, the failure policy, the
figures, conversations kept apart, and the memory as a pipeline policy."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from typing import Any

import pytest

import tokenomy
from tokenomy import (
    ConfigurationError,
    ConversationMemory,
    MaxTokens,
    MemoryBudgetError,
    MemoryLedger,
    ModelRequest,
    Pipeline,
)
from tokenomy.testing import FakeSummarizer, MockSender, RecordingPolicy


def _chat(turns: int, words: int = 30) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = [{"role": "system", "content": "You are terse."}]
    for i in range(turns):
        history.append({"role": "user", "content": f"question {i} " + "word " * words})
        history.append({"role": "assistant", "content": f"answer {i} " + "reply " * words})
    history.append({"role": "user", "content": "and now?"})
    return history


def test_summary_calls_are_ledger_records_tagged_memory() -> None:
    """Each summary call is one ledger record tagged purpose=memory, priced as the summariser's
    model, and its cost is the conversation's summary_cost."""
    ledger = MemoryLedger()
    memory = ConversationMemory(
        max_tokens=300, summary_max_tokens=80, summarizer=FakeSummarizer(), ledger=ledger
    )
    memory.window(_chat(12), conversation="c1")
    records = ledger.query()
    assert len(records) == 1
    (record,) = records
    assert record.tags["purpose"] == "memory" and record.tags["conversation"] == "c1"
    assert record.model == "gpt-4o-mini" and record.cost is not None
    stats = memory.stats("c1")
    assert stats.summary_calls == 1 and stats.summary_cost == record.cost.total > 0


def test_only_new_turns_are_summarised() -> None:
    """A second read after two more turns sends the summariser the previous summary and only
    the turns evicted since, not the whole history."""
    summarizer = FakeSummarizer()
    memory = ConversationMemory(
        max_tokens=300,
        summary_max_tokens=80,
        summarizer=summarizer,
        ledger=MemoryLedger(),
        evict_to=None,  # one turn per read: a summary call on each of the two reads
    )
    memory.window(_chat(12))
    memory.window(_chat(14))
    first, second = (str(r.messages[-1]["content"]) for r in summarizer.requests)
    assert "Summary so far:" not in first and "question 0 " in first
    assert "Summary so far:" in second
    new_turns = second.split("New turns:\n", 1)[1]
    assert "question 0 " not in new_turns and "question 10 " in new_turns


def test_evict_to_defaults_to_half_the_budget_when_summarising() -> None:
    """evict_to="auto" (the default) is 0.5 with a summarizer and a token budget (the next
    test pins what that does); without a summarizer, or without a token budget, it is None;
    an explicit value wins."""
    assert ConversationMemory(max_tokens=300, summarizer=FakeSummarizer()).evict_to == 0.5
    assert ConversationMemory(max_tokens=300).evict_to is None
    assert ConversationMemory(max_turns=4, summarizer=FakeSummarizer()).evict_to is None
    explicit = {None: None, 0.3: 0.3}
    for given, resolved in explicit.items():
        memory = ConversationMemory(max_tokens=300, summarizer=FakeSummarizer(), evict_to=given)
        assert memory.evict_to == resolved


def test_summary_is_capped_and_placed_after_system() -> None:
    """The summary is cut to summary_max_tokens and sent right after the system message."""
    memory = ConversationMemory(
        max_tokens=400, summarizer=FakeSummarizer(), summary_max_tokens=20, ledger=MemoryLedger()
    )
    view = memory.window(_chat(12))
    assert view.summary is not None
    assert memory.counter().text_tokens(view.summary) <= 20
    assert view.messages[0]["role"] == "system"
    assert view.messages[1] is view.summary_message and view.messages[1]["role"] == "user"
    assert view.tokens <= 400


@pytest.mark.parametrize("policy", ["drop", "keep"])
def test_a_failing_summariser_never_breaks_the_read(policy: str) -> None:
    """A summariser that raises: the read still returns a window under budget, the failure is
    counted and recorded in the ledger (error = the exception's class); "drop" moves on past
    the evicted turns, "keep" sends them to the next summary."""
    ledger = MemoryLedger()
    failing = FakeSummarizer(fail=TimeoutError("summariser down"))
    memory = ConversationMemory(
        max_tokens=300,
        summary_max_tokens=80,
        summarizer=failing,
        on_summary_error=policy,
        ledger=ledger,  # type: ignore[arg-type]
        evict_to=None,  # the next read overflows again, so it summarises again
    )
    with pytest.warns(UserWarning, match="summary failed"):
        view = memory.window(_chat(12))
    assert view.tokens <= 300 and view.summary is None
    stats = memory.stats()
    assert stats.summary_failures == 1 and stats.last_error == "TimeoutError"
    (record,) = ledger.query()
    assert record.error == "TimeoutError" and record.tags["purpose"] == "memory"
    memory.summarizer = working = FakeSummarizer()
    memory.window(_chat(14))
    new_turns = str(working.requests[0].messages[-1]["content"])
    assert ("question 0 " in new_turns) is (policy == "keep")


def test_figures_count_tokens_and_money() -> None:
    """Per-conversation figures: tokens sent vs the full history, and both priced as input
    of the counting model (saved = full - sent)."""
    memory = ConversationMemory(max_tokens=200, model="gpt-4o")
    for turns in (5, 10, 20):
        view = memory.window(_chat(turns), conversation="x")
    stats = memory.stats("x")
    assert (
        stats.reads == 3 and stats.last_sent == view.tokens and stats.last_full == view.full_tokens
    )
    assert stats.tokens_saved == stats.tokens_full - stats.tokens_sent > 0
    price = tokenomy.PriceBook.default().lookup("gpt-4o")
    assert price is not None
    expected = price.cost(tokenomy.Usage(input=stats.tokens_saved), model="gpt-4o").total
    assert stats.cost_saved == expected and stats.cost_saved > Decimal(0)
    assert memory.stats("other").reads == 0
    memory.window(_chat(30), conversation="y")
    total = memory.total()
    y = memory.stats("y")
    assert total.reads == 4 and total.tokens_sent == stats.tokens_sent + y.tokens_sent
    assert total.cost_saved == stats.cost_saved + y.cost_saved  # type: ignore[operator]
    assert total.last_sent == y.last_sent and total.to_dict()["tokens_saved"] == total.tokens_saved


def test_another_history_under_the_same_key_starts_a_new_summary() -> None:
    """When the history no longer starts with what was summarised, the summary starts over."""
    memory = ConversationMemory(
        max_tokens=300, summary_max_tokens=80, summarizer=FakeSummarizer(), ledger=MemoryLedger()
    )
    memory.window(_chat(12))
    assert "question 0" in memory.summary()
    other = [
        {"role": "user", "content": "hello " * 5},
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": "x"},
    ]
    view = memory.window(other)
    assert view.summary is None and memory.summary() == ""


def test_budget_too_small_for_the_current_turn() -> None:
    """A current turn larger than the budget is a MemoryBudgetError with the numbers."""
    memory = ConversationMemory(max_tokens=20)
    with pytest.raises(MemoryBudgetError, match="raise max_tokens to at least") as info:
        memory.window([{"role": "user", "content": "word " * 50}])
    assert info.value.budget == 20 and info.value.needed > 50


def test_bad_settings_are_configuration_errors() -> None:
    """No limit, a non-summariser, a bad policy name: ConfigurationError saying what to pass."""
    with pytest.raises(ConfigurationError, match="needs a limit"):
        ConversationMemory()
    with pytest.raises(ConfigurationError, match=r"tokenomy\.Summarizer"):
        ConversationMemory(max_tokens=10, summarizer=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="on_summary_error"):
        ConversationMemory(max_tokens=10, on_summary_error="retry")  # type: ignore[arg-type]


def test_as_a_policy_memory_runs_before_the_next_policy() -> None:
    """In a pipeline the memory replaces the request's messages with the window before the
    policies after it see them; the conversation comes from the track() block's tag; the
    provider call is recorded with the windowed prompt."""
    seen = RecordingPolicy()
    memory = ConversationMemory(max_tokens=150)
    ledger = MemoryLedger()
    pipeline = Pipeline([memory, MaxTokens(50), seen], ledger=ledger)
    request = ModelRequest(model="gpt-4o-mini", messages=tuple(_chat(10)))
    with tokenomy.track(conversation="c9"):
        pipeline.call(request, MockSender())
    (sent,) = seen.requests
    assert len(sent.messages) < len(request.messages) and sent.max_tokens == 50
    assert memory.stats("c9").reads == 1
    (record,) = ledger.query()
    assert record.usage.input == memory.stats("c9").last_sent


def test_as_a_policy_short_history_passes_unchanged() -> None:
    """A history inside the budget is passed on as the same object (the wrapper then sends
    the caller's native messages)."""
    seen = RecordingPolicy()
    request = ModelRequest(model="gpt-4o-mini", messages=tuple(_chat(1)))
    Pipeline([ConversationMemory(max_tokens=5000), seen]).call(request, MockSender())
    assert seen.requests[0].messages is request.messages


def test_async_policy_awaits_the_summary() -> None:
    """On the async path the summary call is awaited (asend) and the window is sent."""
    summarizer = FakeSummarizer()
    memory = ConversationMemory(
        max_tokens=300, summary_max_tokens=80, summarizer=summarizer, ledger=MemoryLedger()
    )
    seen = RecordingPolicy()
    request = ModelRequest(model="gpt-4o-mini", messages=tuple(_chat(12)))
    send = MockSender()
    asyncio.run(Pipeline([memory, seen]).acall(request, send.asend))
    assert summarizer.calls == 1
    assert seen.requests[0].messages[1]["content"].startswith("Summary of the earlier conversation")


def test_evict_to_keeps_the_window_start_until_it_overflows() -> None:
    """With evict_to=0.5 (a summarising memory's default) an overflow evicts down to half the
    budget at once; the next reads append to the same start (a stable prefix a provider's
    prompt cache can reuse) until the budget is reached again, and the summariser is called
    once per overflow, not per turn as with evict_to=None."""
    sliding, chunked = FakeSummarizer(), FakeSummarizer()
    slide = ConversationMemory(
        max_tokens=600,
        summary_max_tokens=60,
        summarizer=sliding,
        ledger=MemoryLedger(),
        evict_to=None,
    )
    chunk = ConversationMemory(
        max_tokens=600,
        summary_max_tokens=60,
        summarizer=chunked,
        ledger=MemoryLedger(),  # evict_to: the default
    )
    starts = []
    for turns in range(8, 30):
        view = chunk.window(_chat(turns, words=20))
        slide.window(_chat(turns, words=20))
        assert view.tokens <= 600
        starts.append(view.messages[2]["content"])
    changes = sum(1 for a, b in itertools.pairwise(starts) if a != b)
    assert 0 < changes < len(starts) // 2
    assert 0 < chunked.calls < sliding.calls
    assert min(chunk.stats().last_sent, view.tokens) <= 600


def test_a_low_water_mark_under_the_current_turn_still_evicts_in_blocks() -> None:
    """When the current turn and the summary alone are over the low-water mark, an overflow
    evicts down to the least window that holds them, not back to the full budget (which
    would slide one turn per read and call the summariser on nearly every read)."""
    deep = FakeSummarizer()
    memory = ConversationMemory(
        max_tokens=300,
        summary_max_tokens=60,
        summarizer=deep,
        ledger=MemoryLedger(),
        evict_to=0.1,
    )
    reads = 0
    for turns in range(6, 40):
        view = memory.window(_chat(turns, words=20))
        assert view.tokens <= 300
        reads += 1
    assert 0 < deep.calls < reads // 2


def test_evict_to_needs_a_fraction_and_a_budget() -> None:
    """evict_to outside (0, 1] or without max_tokens is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match="fraction"):
        ConversationMemory(max_tokens=100, evict_to=1.5)
    with pytest.raises(ConfigurationError, match="needs max_tokens"):
        ConversationMemory(max_turns=3, evict_to=0.5)


def test_summary_cap_shrinks_to_the_room_left() -> None:
    """A summary cap larger than the room beside the current turn is lowered to that room
    (the read stays under budget); with no room at all no summary call is made and the
    evicted turns are dropped."""
    summarizer = FakeSummarizer()
    memory = ConversationMemory(
        max_tokens=120, summary_max_tokens=500, summarizer=summarizer, ledger=MemoryLedger()
    )
    view = memory.window(_chat(6, words=10))
    assert view.tokens <= 120
    (request,) = summarizer.requests
    assert request.max_tokens is not None and request.max_tokens < 120
    tight = ConversationMemory(max_tokens=60, summarizer=FakeSummarizer(), ledger=MemoryLedger())
    history = _chat(6, words=10)
    history[-1] = {"role": "user", "content": "word " * 40}
    view = tight.window(history)
    assert view.summary is None and tight.stats().summary_calls == 0 and view.tokens <= 60


def test_summary_as_a_system_message() -> None:
    """summary_role="system" sends the summary as a system message after the leading ones,
    which both providers accept there."""
    memory = ConversationMemory(
        max_tokens=300,
        summary_max_tokens=50,
        summary_role="system",
        summarizer=FakeSummarizer(),
        ledger=MemoryLedger(),
    )
    view = memory.window(_chat(12))
    assert [m["role"] for m in view.messages[:3]] == ["system", "system", "user"]
    assert tokenomy.sequence_problems(view.messages, "anthropic") == []


def test_a_long_new_turn_shortens_the_summary_instead_of_failing() -> None:
    """When a long current turn leaves less room than the running summary takes, the summary
    is cut to the room left (or dropped) and the read stays under budget, no
    MemoryBudgetError while the current turn alone fits."""
    memory = ConversationMemory(
        max_tokens=400, summary_max_tokens=150, summarizer=FakeSummarizer(), ledger=MemoryLedger()
    )
    history = _chat(20, words=10)
    memory.window(history)
    before = memory.counter().text_tokens(memory.summary())
    assert before > 60
    history[-1] = {"role": "user", "content": "word " * 300}
    view = memory.window(history)
    assert view.tokens <= 400
    assert memory.counter().text_tokens(memory.summary()) < before
