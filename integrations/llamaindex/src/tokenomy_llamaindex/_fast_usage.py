"""A fast path for the usage llama-index-llms-openai hands over: OpenAI chat-completions usage.

``raw.usage`` of an OpenAI response or final stream chunk is the SDK's ``CompletionUsage`` (or,
from other clients, a plain dict of the same shape). ``tokenomy.usage.usage_from_openai_chat``
accepts anything (float counts, gateway spellings, inconsistent reports) and first converts its
input into plain data, which costs more than the rest of the record. This reads the plain
shape directly (ints or ``None``) and returns ``None`` for anything else, which then goes to
the core parser; ``tests/llamaindex/test_li_fast_usage.py`` pins the two to the same result.
"""

from __future__ import annotations

from typing import Any

from tokenomy.usage import Usage

__all__ = ["fast_openai_chat_usage"]

_BAD = object()


def _count(obj: Any, *keys: str) -> Any:
    """The first of ``keys`` present and not None in ``obj`` (a dict or an object) if it is an
    int, 0 when none is, ``_BAD`` for any other value (the core parser then decides)."""
    if obj is None:
        return 0
    for key in keys:
        value = obj.get(key) if type(obj) is dict else getattr(obj, key, None)
        if value is not None:
            return value if type(value) is int else _BAD
    return 0


def fast_openai_chat_usage(usage: Any) -> Usage | None:
    """The :class:`Usage` of an OpenAI chat-completions usage object or dict, or ``None`` to
    defer to :func:`tokenomy.usage.usage_from_openai_chat` (any other shape or value)."""
    if type(usage) is dict:
        prompt = usage.get("prompt_tokens")
        details = usage.get("prompt_tokens_details")
        out_details = usage.get("completion_tokens_details")
    else:
        prompt = getattr(usage, "prompt_tokens", None)
        details = getattr(usage, "prompt_tokens_details", None)
        out_details = getattr(usage, "completion_tokens_details", None)
    if type(prompt) is not int:
        return None
    completion = _count(usage, "completion_tokens")
    cached = _count(details, "cached_tokens")
    writes = _count(details, "cache_write_tokens", "cache_creation_tokens")
    reasoning = _count(out_details, "reasoning_tokens")
    if _BAD in (completion, cached, writes, reasoning):
        return None
    try:
        return Usage(prompt, completion, cached, writes, 0, reasoning)
    except ValueError:  # an inconsistent report: the core parser says what is wrong
        return None
