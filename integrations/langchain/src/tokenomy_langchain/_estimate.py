"""Estimated usage of a LangChain call whose provider reported none (flagged ``estimated``).

This happens when a chat model streams without usage (langchain-openai leaves
``stream_usage`` off when ``base_url`` is set; pass ``stream_usage=True`` to get the real
counts), when a model integration reports nothing, and when a stream is cut off before its
final usage chunk. The prompt is counted from the messages ``on_chat_model_start`` received
(OpenAI chat rules, or the Anthropic estimator for ``ls_provider="anthropic"``), the output
from the generated text and tool-call arguments.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from tokenomy.exceptions import EstimatedUsageWarning
from tokenomy.usage import Usage

__all__ = ["estimate_call", "warn_estimated"]

_LOG = logging.getLogger("tokenomy_langchain")
_FALLBACK_MODEL = "gpt-4o"
_warned: set[str] = set()


def estimate_call(
    prompt: Sequence[Any] | None,
    output: str,
    *,
    model: str | None,
    provider: str | None,
    invocation_params: Mapping[str, Any] | None,
) -> Usage:
    """An ``estimated=True`` usage for one run (``prompt``: its messages or prompt string)."""
    from tokenomy.tokens import count_text

    name = model or _FALLBACK_MODEL
    prompt_tokens = 0
    if prompt is not None:
        try:
            prompt_tokens = _prompt_tokens(prompt, name, provider, invocation_params)
        except Exception as exc:  # an estimate is best effort; the record is flagged anyway
            _LOG.debug("tokenomy: could not estimate the prompt of a %s call: %r", name, exc)
    output_tokens = count_text(output, name) if output else 0
    return Usage(input=prompt_tokens, output=output_tokens, estimated=True)


def _prompt_tokens(
    prompt: Sequence[Any],
    model: str,
    provider: str | None,
    invocation_params: Mapping[str, Any] | None,
) -> int:
    from tokenomy.tokens import count_text, estimate_messages, estimate_request

    if isinstance(prompt, str):  # a legacy LLM's prompt
        return count_text(prompt, model)
    from langchain_core.messages import convert_to_openai_messages

    messages = convert_to_openai_messages(list(prompt))
    tools = (invocation_params or {}).get("tools")
    tool_list = list(tools) if isinstance(tools, list) else None
    if provider == "anthropic":
        system = [m["content"] for m in messages if m.get("role") == "system"]
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": 1,
            "messages": [m for m in messages if m.get("role") != "system"],
        }
        if system:
            body["system"] = "\n".join(str(s) for s in system)
        if tool_list:
            body["tools"] = tool_list
        try:
            return estimate_request(body, provider="anthropic").prompt_tokens
        except Exception:
            pass  # tool messages in OpenAI shape: fall back to the chat rules
    try:
        return estimate_messages(messages, model, tools=tool_list).prompt_tokens
    except Exception:
        return estimate_messages(messages, model).prompt_tokens


def warn_estimated(model: str | None, streamed: bool) -> None:
    """Warn once per model that its usage is being estimated."""
    key = model or "unknown"
    if key in _warned:
        return
    _warned.add(key)
    hint = (
        " For ChatOpenAI with a base_url, pass stream_usage=True to get the provider's counts."
        if streamed
        else ""
    )
    warnings.warn(
        f"LangChain reported no token usage for a {key!r} call: its tokens were estimated "
        f"locally and the record is flagged estimated.{hint}",
        EstimatedUsageWarning,
        stacklevel=2,
    )
