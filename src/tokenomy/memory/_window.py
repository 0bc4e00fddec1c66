"""``plan_window``: which messages of a history to send under a token and turn budget.

Pure and framework-free: it reads one :class:`MessageInfo` per message (counted once, see
:class:`MessageCounter`) and returns the indices to keep. The rules, in order:

1. every system message is kept;
2. the current turn is kept: the last user message, plus the most recent blocks after it
   that fit (at least the last one: the tool results the model must now answer); if even
   that does not fit, :class:`~tokenomy.exceptions.MemoryBudgetError`;
3. if everything after the last user message fit, earlier blocks are added newest first
   while they fit, up to ``max_turns`` user turns in all;
4. the kept earlier blocks start at a user message (leading assistant blocks, whose user
   turn was dropped, are dropped too), so no provider sees a leading assistant turn;
5. blocks that no provider accepts (orphan tool results, tool calls without their results)
   are never kept.

Messages before the first kept non-system message are *evicted* (what a summarising memory
folds into its summary).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tokenomy.exceptions import MemoryBudgetError
from tokenomy.memory._counter import MessageInfo
from tokenomy.memory._sequence import Block, blocks_of

__all__ = ["WindowPlan", "plan_window", "required_tokens"]


@dataclass(frozen=True, slots=True)
class WindowPlan:
    """The outcome of :func:`plan_window`.

    * ``keep``: indices of the messages to send, in order (system messages included).
    * ``start``: index of the first kept non-system message (``len(history)`` when none):
      the non-system messages before it are the evicted ones.
    * ``tokens``: the kept messages' tokens plus the request's fixed cost (``priming``).
    * ``full_tokens``: the same for the whole history.
    """

    keep: tuple[int, ...]
    start: int
    tokens: int
    full_tokens: int


def plan_window(
    infos: Sequence[MessageInfo],
    *,
    max_tokens: int | None = None,
    max_turns: int | None = None,
    reserve: int = 0,
    priming: int = 0,
    floor: int = 0,
) -> WindowPlan:
    """Plan the window (module docstring). ``reserve``: tokens set aside for a summary
    message; ``priming``: the request's fixed tokens (:attr:`MessageCounter.priming`);
    ``floor``: non-system messages before this index are never kept (already summarised)."""
    blocks = blocks_of(infos)
    full = priming + sum(i.tokens for i in infos)
    budget = None if max_tokens is None else max_tokens - reserve - priming
    system = [b for b in blocks if b.kind == "system"]
    used = sum(b.tokens for b in system)
    last_user = next((k for k in range(len(blocks) - 1, -1, -1) if blocks[k].kind == "user"), None)
    if last_user is None:  # no user turn: nothing a provider would take but the system part
        kept: list[Block] = []
    else:
        kept = _current_turn(blocks, last_user, budget, used, max_tokens, reserve, priming)
        used += sum(b.tokens for b in kept)
        if _all_after_kept(blocks, last_user, kept):
            kept = _earlier(blocks[:last_user], budget, used, max_turns, floor) + kept
    keep = sorted([b.start for b in system] + [i for b in kept for i in range(b.start, b.end)])
    start = kept[0].start if kept else len(infos)
    tokens = priming + sum(b.tokens for b in system) + sum(b.tokens for b in kept)
    return WindowPlan(keep=tuple(keep), start=start, tokens=tokens, full_tokens=full)


def required_tokens(infos: Sequence[MessageInfo], *, priming: int = 0) -> int:
    """The fewest tokens any window of this history takes: the request's fixed tokens, the
    system messages, the last user message and the last block after it."""
    blocks = blocks_of(infos)
    total = priming + sum(b.tokens for b in blocks if b.kind == "system")
    last_user = next((k for k in range(len(blocks) - 1, -1, -1) if blocks[k].kind == "user"), None)
    if last_user is None:
        return total
    after = [b for b in blocks[last_user + 1 :] if b.kind == "assistant"]
    return total + blocks[last_user].tokens + (after[-1].tokens if after else 0)


def _fits(budget: int | None, used: int, more: int) -> bool:
    return budget is None or used + more <= budget


def _current_turn(
    blocks: Sequence[Block],
    last_user: int,
    budget: int | None,
    used: int,
    max_tokens: int | None,
    reserve: int,
    priming: int,
) -> list[Block]:
    after = [b for b in blocks[last_user + 1 :] if b.kind == "assistant"]
    user = blocks[last_user]
    needed = user.tokens + (after[-1].tokens if after else 0)
    if not _fits(budget, used, needed):
        raise MemoryBudgetError(needed + used + reserve + priming, max_tokens or 0)
    used += needed
    tail: list[Block] = [after[-1]] if after else []
    for block in reversed(after[:-1]):
        if not _fits(budget, used, block.tokens):
            break
        used += block.tokens
        tail.append(block)
    tail.reverse()
    return [user, *tail]


def _all_after_kept(blocks: Sequence[Block], last_user: int, kept: Sequence[Block]) -> bool:
    wanted = sum(1 for b in blocks[last_user + 1 :] if b.kind == "assistant")
    return len(kept) - 1 == wanted


def _earlier(
    blocks: Sequence[Block], budget: int | None, used: int, max_turns: int | None, floor: int
) -> list[Block]:
    turns_left = None if max_turns is None else max_turns - 1
    picked: list[Block] = []
    for block in reversed(blocks):
        if block.kind in ("system", "broken"):
            continue
        if block.start < floor:
            break
        if block.kind == "user" and turns_left is not None and turns_left <= 0:
            break
        if not _fits(budget, used, block.tokens):
            break
        used += block.tokens
        picked.append(block)
        if block.kind == "user" and turns_left is not None:
            turns_left -= 1
    picked.reverse()
    while picked and picked[0].kind != "user":
        picked.pop(0)
    return picked
