"""Cost-aware conversation memory: a token-budget sliding window, optionally summarising.

Framework-free: :class:`ConversationMemory` windows a history of OpenAI-shape message dicts
(counted with the target model's tokenizer, tool calls and results included, kept or dropped
together so every provider accepts the result), folds evicted turns into a running summary
with a :class:`Summarizer` (each summary call a ledger record tagged ``purpose=memory``), and
keeps per-conversation :class:`MemoryStats`. It is also a pipeline :class:`~tokenomy.Policy`.
Every name here is also exported by :mod:`tokenomy`.
"""

from __future__ import annotations

from tokenomy.memory._counter import MessageCounter, MessageInfo, message_key
from tokenomy.memory._memory import ConversationMemory
from tokenomy.memory._sequence import is_valid_sequence, sequence_problems
from tokenomy.memory._stats import MemoryStats
from tokenomy.memory._summarizer import (
    SUMMARY_INSTRUCTIONS,
    Summarizer,
    summary_request,
    transcript,
)
from tokenomy.memory._view import SUMMARY_PREFIX, MemoryView
from tokenomy.memory._window import WindowPlan, plan_window, required_tokens

__all__ = [
    "SUMMARY_INSTRUCTIONS",
    "SUMMARY_PREFIX",
    "ConversationMemory",
    "MemoryStats",
    "MemoryView",
    "MessageCounter",
    "MessageInfo",
    "Summarizer",
    "WindowPlan",
    "is_valid_sequence",
    "message_key",
    "plan_window",
    "required_tokens",
    "sequence_problems",
    "summary_request",
    "transcript",
]
