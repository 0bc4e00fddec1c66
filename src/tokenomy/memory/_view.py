"""One windowed read of a conversation (:class:`MemoryView`) and how it is applied to the
messages sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenomy.pipeline import Message, ModelRequest

__all__ = ["SUMMARY_PREFIX", "MemoryView", "replaced", "with_messages"]

#: Put before the summary text in the summary message.
SUMMARY_PREFIX = "Summary of the earlier conversation:\n"

@dataclass(frozen=True, slots=True)
class MemoryView:
    """One windowed read.

    * ``keep``/``start``: the history's messages to send (indices) and the first kept
      non-system one; the summary message goes just before it.
    * ``summary_message``: the summary as a message dict (``None``: no summary yet).
    * ``tokens``: input tokens of what is sent (summary included); ``full_tokens``: of the
      whole history.
    * ``messages``: the messages to send, when the history was given as dicts.
    """

    keep: tuple[int, ...]
    start: int
    summary_message: Message | None
    tokens: int
    full_tokens: int
    conversation: str | None = None
    history_len: int = 0
    messages: list[Message] = field(default_factory=list)

    @property
    def summary(self) -> str | None:
        """The summary text (without the prefix)."""
        if self.summary_message is None:
            return None
        return str(self.summary_message["content"])[len(SUMMARY_PREFIX) :]

    def arrange(self, items: Sequence[Any], summary: Any = None) -> list[Any]:
        """``items`` (the history, any message type) windowed: kept items in order, with
        ``summary`` (the summary as that type) before the first kept non-system one."""
        out = [items[i] for i in self.keep if i < self.start]
        if summary is not None:
            out.append(summary)
        out.extend(items[i] for i in self.keep if i >= self.start)
        return out

    @property
    def changed(self) -> bool:
        """False when the whole history is sent as it is."""
        return self.summary_message is not None or len(self.keep) != self.history_len


def with_messages(view: MemoryView, messages: Sequence[Message]) -> MemoryView:
    view.messages.extend(view.arrange(messages, view.summary_message))
    return view


def replaced(request: ModelRequest, view: MemoryView) -> ModelRequest:
    if not view.changed:
        return request
    return request.replace(messages=tuple(view.messages))
