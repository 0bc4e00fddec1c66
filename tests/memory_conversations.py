"""Random conversations with tool calls, for the memory property tests (hypothesis); shared by
the core and the integrations' tests (tests/ is on sys.path)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

WORDS = [
    "alpha",
    "budget",
    "tool",
    "weather",
    "Paris",
    "the",
    "of",
    "42",
    "résumé",
    "naïve",
    "🙂",
    "{",
    "}",
]

text = st.lists(st.sampled_from(WORDS), min_size=0, max_size=40).map(" ".join)


@st.composite
def conversations(draw: Any, *, min_turns: int = 1, max_turns: int = 12) -> list[dict[str, Any]]:
    """A valid OpenAI-shape conversation: maybe a system message, then user turns, each with
    zero to two rounds of tool calls (an assistant message with 1-3 calls followed by every
    result, in any order) and maybe a final answer; it ends after a user message or after a
    round of tool results (an agent about to call the model again) or an answer."""
    messages: list[dict[str, Any]] = []
    if draw(st.booleans()):
        messages.append({"role": "system", "content": draw(text)})
    turns = draw(st.integers(min_turns, max_turns))
    call = 0
    for turn in range(turns):
        messages.append({"role": "user", "content": f"u{turn} " + draw(text)})
        last = turn == turns - 1
        if last and draw(st.booleans()):
            break
        for _ in range(draw(st.integers(0, 2))):
            ids = []
            calls = []
            for _ in range(draw(st.integers(1, 3))):
                call += 1
                ids.append(f"call_{call}")
                calls.append(
                    {
                        "id": f"call_{call}",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": json.dumps({"q": draw(text)})},
                    }
                )
            messages.append(
                {
                    "role": "assistant",
                    "content": draw(st.sampled_from(["", None, "let me check"])),
                    "tool_calls": calls,
                }
            )
            for cid in draw(st.permutations(ids)):
                messages.append({"role": "tool", "tool_call_id": cid, "content": draw(text)})
        if last and draw(st.booleans()):
            break
        messages.append({"role": "assistant", "content": f"a{turn} " + draw(text)})
    return messages
