"""The state a :class:`~tokenomy.ConversationMemory` keeps per conversation, and one read in
progress (``memory/_memory.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tokenomy.memory._counter import MessageCounter, MessageInfo
from tokenomy.memory._stats import MemoryStats
from tokenomy.memory._window import WindowPlan
from tokenomy.pipeline import ModelRequest

__all__ = ["Pending", "State"]


@dataclass(slots=True)
class State:
    """One conversation's memory: its running summary, what is folded into it, where the
    window starts (with ``evict_to``) and the messages of that prefix, and its figures."""

    stats: MemoryStats
    summary: str = ""
    summary_tokens: int = 0  # of the summary message (0: none)
    folded: int = 0  # messages before this index are in the summary (or dropped)
    start: int = 0  # with evict_to: where the last window started (kept until it overflows)
    prefix: list[MessageInfo] = field(default_factory=list)  # infos[:max(folded, start)]

    @property
    def floor(self) -> int:
        return max(self.folded, self.start)

    def remember(self, infos: Sequence[MessageInfo]) -> None:
        self.prefix = list(infos[: self.floor])


@dataclass(slots=True)
class Pending:
    """One read in progress: its plan, and the summary request to send (if any) before the
    window is settled."""

    state: State
    infos: Sequence[MessageInfo]
    counter: MessageCounter
    plan: WindowPlan
    request: ModelRequest | None = None
    evicted: int = 0
    cap: int = 0
    extra: int = 0
    reserved: int = 0  # the reserve the plan was made with
    low: bool = False  # the window overflowed: planned down to the low-water mark
