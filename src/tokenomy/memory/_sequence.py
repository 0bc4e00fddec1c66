"""Message sequences a provider accepts, and the blocks a window keeps or drops whole.

A *block* is the smallest run of messages a window may keep or drop: a system message, a user
message, an assistant message without tool calls, or an assistant message with tool calls
together with the tool results that answer it. Dropping whole blocks is what keeps a window
valid: no tool result without its call, no tool call without its results.

:func:`sequence_problems` says what a provider would reject in a list of messages
(OpenAI-shape dicts): ``"openai"`` (tool results must answer the assistant message just
before them, every tool call must be answered before the next turn) and ``"anthropic"``
(the same, plus system messages only at the start and the first turn a user turn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

from tokenomy.memory._counter import MessageInfo

__all__ = ["Block", "blocks_of", "is_valid_sequence", "sequence_problems"]

BlockKind = Literal["system", "user", "assistant", "broken"]


class Block(NamedTuple):
    """Messages ``start`` to ``end`` (exclusive) of a history, kept or dropped together.

    ``kind`` ``"broken"``: a tool result answering no call just before it, or a tool call
    whose results do not all follow it; no provider accepts them, so they are never sent."""

    start: int
    end: int
    kind: BlockKind
    tokens: int


def blocks_of(infos: Sequence[MessageInfo]) -> list[Block]:
    """The blocks of a history, in order."""
    out: list[Block] = []
    i, n = 0, len(infos)
    while i < n:
        info = infos[i]
        role = info.role
        if role == "system":
            out.append(Block(i, i + 1, "system", info.tokens))
            i += 1
        elif role == "assistant" and info.call_ids:
            pending = set(info.call_ids)
            j, tokens = i + 1, info.tokens
            while j < n and infos[j].role == "tool" and infos[j].result_id in pending:
                pending.discard(infos[j].result_id)
                tokens += infos[j].tokens
                j += 1
            kind: BlockKind = "broken" if pending else "assistant"
            out.append(Block(i, j, kind, tokens))
            i = j
        elif role == "tool":
            out.append(Block(i, i + 1, "broken", info.tokens))
            i += 1
        else:
            out.append(Block(i, i + 1, "assistant" if role == "assistant" else "user", info.tokens))
            i += 1
    return out


def _role(message: Mapping[str, Any]) -> str:
    role = str(message.get("role") or "")
    return {"developer": "system", "function": "tool"}.get(role, role)


def sequence_problems(messages: Sequence[Mapping[str, Any]], provider: str = "openai") -> list[str]:
    """What ``provider`` (``"openai"`` or ``"anthropic"``) would reject in ``messages``, one
    line per problem (empty: a valid sequence). A request whose last assistant message calls
    tools still waiting for results is not valid either (nothing would answer them)."""
    problems: list[str] = []
    anthropic = provider.lower() == "anthropic"
    pending: set[str] = set()
    pending_at = -1
    seen_turn = False
    for index, message in enumerate(messages):
        role = _role(message)
        if role == "tool":
            call_id = str(message.get("tool_call_id") or "")
            if call_id not in pending:
                problems.append(
                    f"messages[{index}]: tool result {call_id!r} answers no tool call just before it"
                )
            pending.discard(call_id)
            continue
        if pending:
            problems.append(
                f"messages[{pending_at}]: tool calls {sorted(pending)} have no results before messages[{index}]"
            )
            pending = set()
        if role == "system":
            if anthropic and seen_turn:
                problems.append(f"messages[{index}]: system message after the conversation started")
            continue
        if role not in ("user", "assistant"):
            problems.append(f"messages[{index}]: unknown role {role!r}")
            continue
        if not seen_turn and anthropic and role != "user":
            problems.append(
                f"messages[{index}]: the first turn is {role!r}, Anthropic needs a user turn"
            )
        seen_turn = True
        if role == "assistant":
            ids = [
                str(c.get("id") or "")
                for c in message.get("tool_calls") or ()
                if isinstance(c, Mapping)
            ]
            if ids:
                pending, pending_at = set(ids), index
    if pending:
        problems.append(f"messages[{pending_at}]: tool calls {sorted(pending)} have no results")
    if anthropic and not seen_turn and messages:
        problems.append("no user or assistant message: Anthropic needs at least one turn")
    return problems


def is_valid_sequence(messages: Sequence[Mapping[str, Any]], provider: str = "openai") -> bool:
    """True when :func:`sequence_problems` finds nothing."""
    return not sequence_problems(messages, provider)
