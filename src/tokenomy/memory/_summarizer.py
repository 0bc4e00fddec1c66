"""``Summarizer``: the model a summarising memory folds evicted turns into its summary with.

One small extension point: :meth:`Summarizer.send` answers one
:class:`~tokenomy.ModelRequest` (the summary prompt, ``max_tokens`` = the summary's cap) with
a :class:`~tokenomy.ModelResponse`, the same contract as a pipeline wrapper's sender. The
memory runs it through a :class:`~tokenomy.Pipeline`, so every summary call is a ledger record
(tag ``purpose=memory``) priced like any other call, through the summarizer's own
``policies`` (the integrations' summarizers: the retries their model's SDK client would have
made hidden, as a ``Retry.like_sdk()``, every attempt a record). The integrations provide
senders over their models (``tokenomy_langchain.ChatModelSummarizer``,
``tokenomy_llamaindex.LLMSummarizer``); :class:`tokenomy.testing.FakeSummarizer` is a
deterministic local one for tests.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from tokenomy.pipeline import ModelRequest, ModelResponse, Policy

__all__ = ["SUMMARY_INSTRUCTIONS", "Summarizer", "summary_request", "transcript"]

#: The system prompt of a summary call.
SUMMARY_INSTRUCTIONS = (
    "You maintain a running summary of a conversation between a user and an assistant. "
    "Update the summary with the new turns: keep facts, names, numbers, decisions, open "
    "questions and tool results the assistant may need later; drop pleasantries. Answer "
    "with the updated summary only."
)


class Summarizer(ABC):
    """Sends summary requests to a model (see the module docstring).

    ``model``/``provider``: what the summary calls are recorded as when the response does not
    say (and what strict pricing checks before sending)."""

    model: str | None = None
    provider: str | None = None
    #: recorded as the summary calls' ``framework`` (default ``"tokenomy"``)
    framework: str | None = None
    #: policies the memory runs each summary call through (outermost first): the
    #: integrations' summarizers put a ``Retry.like_sdk()`` here when they turned their
    #: model's SDK client retries off, so each attempt is a ledger record
    policies: Sequence[Policy] = ()

    @abstractmethod
    def send(self, request: ModelRequest) -> ModelResponse:
        """Call the model with ``request`` (``messages``, ``params["max_tokens"]``)."""

    async def asend(self, request: ModelRequest) -> ModelResponse:
        """:meth:`send` for async callers (default: in a worker thread)."""
        return await asyncio.to_thread(self.send, request)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return " ".join(
            p if isinstance(p, str) else str(p.get("text") or "")
            for p in content
            if isinstance(p, (str, Mapping))
        )
    return str(content)


def transcript(messages: Sequence[Mapping[str, Any]]) -> str:
    """Messages as a plain transcript (``User: ...``, ``Assistant: ...``, tool calls and
    results on their own lines)."""
    lines: list[str] = []
    for m in messages:
        role = str(m.get("role") or "user")
        text = _text(m.get("content")).strip()
        if role == "tool":
            lines.append(
                f"Tool result ({m.get('name') or m.get('tool_call_id') or 'tool'}): {text}"
            )
            continue
        if text:
            lines.append(f"{role.capitalize()}: {text}")
        for call in m.get("tool_calls") or ():
            fn = call.get("function", call) if isinstance(call, Mapping) else {}
            lines.append(
                f"Assistant called {fn.get('name')}({fn.get('arguments') or fn.get('args') or ''})"
            )
    return "\n".join(lines)


def summary_request(
    previous: str,
    evicted: Sequence[Mapping[str, Any]],
    *,
    max_tokens: int,
    summarizer: Summarizer,
    conversation: str | None,
) -> ModelRequest:
    """The request that folds ``evicted`` messages into the ``previous`` summary."""
    parts = []
    if previous:
        parts.append(f"Summary so far:\n{previous}")
    parts.append(f"New turns:\n{transcript(evicted)}")
    parts.append(f"Write the updated summary in at most {max_tokens} tokens.")
    tags = {"purpose": "memory"}
    if conversation is not None:
        tags["conversation"] = conversation
    return ModelRequest(
        model=summarizer.model,
        provider=summarizer.provider,
        messages=(
            {"role": "system", "content": SUMMARY_INSTRUCTIONS},
            {"role": "user", "content": "\n\n".join(parts)},
        ),
        params={"max_tokens": max_tokens},
        tags=tags,
        name=f"memory.summary:{type(summarizer).__name__}",
        framework=summarizer.framework or "tokenomy",
    )
