"""Fast paths of the two parsers on every framework handler's hot path.

The full parsers accept anything (SDK objects, tier-prefixed keys, float counts, gateway
spellings, inconsistent reports) and first convert their input to plain data, which costs more
than pricing and recording the call. These read the plain shapes the official integrations
produce (LangChain ``UsageMetadata`` dicts of ints; OpenAI chat-completions ``usage`` objects
or dicts of ints) directly, and return ``None`` for anything else so the full parser decides.
``tests/usage/test_usage_fast.py`` pins each to the full parser's result.
"""

from __future__ import annotations

from typing import Any

from tokenomy.usage._model import Usage

__all__ = ["fast_langchain", "fast_openai_chat", "langchain_counts"]

_INPUT_DETAILS = frozenset(
    {
        "audio",
        "cache_read",
        "cache_creation",
        "ephemeral_5m_input_tokens",
        "ephemeral_1h_input_tokens",
    }
)
_OUTPUT_DETAILS = frozenset({"audio", "reasoning"})
_EMPTY: dict[str, Any] = {}


def langchain_counts(meta: Any) -> tuple[int, int, int, int, int, int, bool] | None:
    """The :class:`Usage` of a plain ``UsageMetadata`` dict as a tuple (the six counts, then
    ``estimated=False``), or ``None`` for the full parser (any other shape, or an inconsistent
    report)."""
    if type(meta) is not dict:
        return None
    inp = meta.get("input_tokens", 0)
    out = meta.get("output_tokens", 0)
    details = meta.get("input_token_details") or _EMPTY
    out_details = meta.get("output_token_details") or _EMPTY
    if (
        type(inp) is not int
        or type(out) is not int
        or type(details) is not dict
        or type(out_details) is not dict
        or not details.keys() <= _INPUT_DETAILS
        or not out_details.keys() <= _OUTPUT_DETAILS
    ):
        return None
    read = details.get("cache_read") or 0
    created = details.get("cache_creation") or 0
    w5 = details.get("ephemeral_5m_input_tokens") or 0
    w1 = details.get("ephemeral_1h_input_tokens") or 0
    reasoning = out_details.get("reasoning") or 0
    if not (type(read) is type(created) is type(w5) is type(w1) is type(reasoning) is int):
        return None
    writes = max(created, w5 + w1)
    if (
        inp < 0
        or out < 0
        or read < 0
        or w5 < 0
        or w1 < 0
        or reasoning < 0
        or read + writes > inp
        or reasoning > out
    ):
        return None  # the full parser says what is wrong
    return (inp, out, read, writes - w1, w1, reasoning, False)


def fast_langchain(meta: Any) -> Usage | None:
    """The usage of a plain ``UsageMetadata`` dict, or ``None`` for the full parser."""
    counts = langchain_counts(meta)
    return None if counts is None else Usage(*counts)


_BAD = object()


def _count(obj: Any, *keys: str) -> Any:
    """The first of ``keys`` present and not None in ``obj`` (a dict or an object) if it is an
    int, 0 when none is, ``_BAD`` for any other value (the full parser then decides)."""
    if obj is None:
        return 0
    for key in keys:
        value = obj.get(key) if type(obj) is dict else getattr(obj, key, None)
        if value is not None:
            return value if type(value) is int else _BAD
    return 0


def fast_openai_chat(usage: Any) -> Usage | None:
    """The :class:`Usage` of an OpenAI chat-completions usage object or dict, or ``None`` for
    the full parser (any other shape or value, e.g. a whole response)."""
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
    except ValueError:  # an inconsistent report: the full parser says what is wrong
        return None
