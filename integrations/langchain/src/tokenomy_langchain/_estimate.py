"""Estimated usage of a LangChain call whose provider reported none (flagged ``estimated``).

This happens when a chat model streams without usage (langchain-openai leaves
``stream_usage`` off when ``base_url`` is set; pass ``stream_usage=True`` to get the real
counts), when a model integration reports nothing, and when a stream is cut off before its
final usage chunk. The messages ``on_chat_model_start`` received are converted to OpenAI chat
dicts (``convert_to_openai_messages``) and counted by :func:`tokenomy.tokens.estimate_call`
(OpenAI chat rules, or Anthropic's for ``ls_provider="anthropic"``), the output from the
generated text and tool-call arguments (:func:`tokenomy_langchain._read.output_text`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import tokenomy
from tokenomy.exceptions import EstimatedUsageWarning
from tokenomy.usage import Usage

__all__ = ["estimate_call", "warn_estimated"]


def estimate_call(
    prompt: Sequence[Any] | str | None,
    output: str,
    *,
    model: str | None,
    provider: str | None,
    invocation_params: Mapping[str, Any] | None,
) -> Usage:
    """An ``estimated=True`` usage for one run (``prompt``: its messages or prompt string)."""
    from tokenomy.tokens import estimate_call as estimate_core

    messages: list[dict[str, Any]] | str | None = None
    if isinstance(prompt, str):  # a legacy LLM's prompt
        messages = prompt
    elif prompt is not None:
        try:
            from langchain_core.messages import convert_to_openai_messages

            messages = convert_to_openai_messages(list(prompt))
        except Exception:  # best effort, as the estimate itself: the record is flagged
            messages = None
    tools = (invocation_params or {}).get("tools")
    return estimate_core(
        messages,
        output,
        model=model,
        provider=provider,
        tools=list(tools) if isinstance(tools, list) else None,
    )


def warn_estimated(model: str | None, streamed: bool) -> None:
    """Warn once per model (per process) that its usage is being estimated."""
    key = model or "unknown"
    hint = (
        " For ChatOpenAI with a base_url, pass stream_usage=True to get the provider's counts."
        if streamed
        else ""
    )
    tokenomy.warn_once(
        ("tokenomy_langchain.estimated", key),
        f"LangChain reported no token usage for a {key!r} call: its tokens were estimated "
        f"locally and the record is flagged estimated.{hint}",
        EstimatedUsageWarning,
        stacklevel=2,
    )
