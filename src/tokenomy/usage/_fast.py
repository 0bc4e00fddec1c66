"""Fast paths of the two parsers on every framework handler's hot path.

The full parsers accept anything (SDK objects, tier-prefixed keys, float counts, gateway
spellings, inconsistent reports) and first convert their input to plain data, which costs more
than pricing and recording the call. These read the plain shapes the official integrations
produce (LangChain ``UsageMetadata`` dicts of ints; OpenAI chat-completions ``usage`` objects
or dicts of ints) directly, and return ``None`` for anything else so the full parser decides.
``tests/usage/test_usage_fast_*.py`` pin each to the full parser's result (and
``read_attr`` to ``getattr``).
"""

from __future__ import annotations

import sys
from typing import Any

from tokenomy.usage._model import Usage

__all__ = [
    "fast_langchain",
    "fast_openai_chat",
    "langchain_counts",
    "openai_chat_counts",
    "read_attr",
]

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
    if details.get("audio") or out_details.get("audio"):
        return None  # audio tokens: the full parser keeps them (UsageExtra)
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


# (type, name) -> True when getattr(obj, name, None) of its instances is obj.__dict__'s or
# obj.__pydantic_extra__'s value: a pydantic model (an SDK object) with no class attribute
# ``name``. An absent attribute of such an object costs ~2 µs through getattr (pydantic
# raises an AttributeError, getattr catches it); OpenAI's usage details lack
# ``cache_creation_tokens`` (and older SDKs ``cache_write_tokens``) on every call.
_MODEL_ATTRS: dict[tuple[type, str], bool] = {}


def read_attr(obj: Any, name: str) -> Any:
    """``getattr(obj, name, None)``, without the cost of an absent attribute of a pydantic
    model."""
    key = (type(obj), name)
    plain = _MODEL_ATTRS.get(key)
    if plain is None:
        cls: Any = key[0]
        pydantic = sys.modules.get("pydantic")  # no pydantic loaded: obj is not a model
        base: Any = None if pydantic is None else pydantic.BaseModel
        plain = _MODEL_ATTRS[key] = (
            base is not None
            and isinstance(obj, base)  # pydantic's lookup; no class (or private) attribute
            and cls.__getattr__ is base.__getattr__
            and cls.__getattribute__ is base.__getattribute__
            and not hasattr(cls, name)
        )
    if not plain:
        return getattr(obj, name, None)
    value = obj.__dict__.get(name)
    if value is None:
        extra = obj.__pydantic_extra__
        if extra:
            value = extra.get(name)
    return value


def openai_chat_counts(usage: Any) -> tuple[int, int, int, int, int, int, bool] | None:
    """The counts tuple of an OpenAI chat-completions usage object or dict (the six
    :class:`Usage` counts, then ``estimated=False``: what ``_record_stored`` takes), or
    ``None`` for the full parser (any other shape or value, or an inconsistent report)."""
    if type(usage) is dict:
        prompt = usage.get("prompt_tokens")
        completion = usage.get("completion_tokens")
        details = usage.get("prompt_tokens_details")
        out_details = usage.get("completion_tokens_details")
    else:
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
        details = getattr(usage, "prompt_tokens_details", None)
        out_details = getattr(usage, "completion_tokens_details", None)
    if type(prompt) is not int:
        return None
    # a billed amount (OpenRouter's usage.cost) or audio tokens: the full parser keeps them
    if (usage.get("cost") if type(usage) is dict else read_attr(usage, "cost")) is not None:
        return None
    cached = writes = reasoning = None
    if type(details) is dict:
        cached = details.get("cached_tokens")
        writes = details.get("cache_write_tokens")
        if writes is None:
            writes = details.get("cache_creation_tokens")
        if details.get("audio_tokens"):
            return None
    elif details is not None:
        cached = getattr(details, "cached_tokens", None)
        writes = read_attr(details, "cache_write_tokens")
        if writes is None:
            writes = read_attr(details, "cache_creation_tokens")
        if getattr(details, "audio_tokens", None):  # a declared field of the SDK's details
            return None
    if type(out_details) is dict:
        reasoning = out_details.get("reasoning_tokens")
        if out_details.get("audio_tokens"):
            return None
    elif out_details is not None:
        reasoning = getattr(out_details, "reasoning_tokens", None)
        if getattr(out_details, "audio_tokens", None):
            return None
    # absent or None counts 0; any other non-int: the full parser decides
    if completion is None:
        completion = 0
    if cached is None:
        cached = 0
    if writes is None:
        writes = 0
    if reasoning is None:
        reasoning = 0
    if not (type(completion) is type(cached) is type(writes) is type(reasoning) is int):
        return None
    if (
        prompt < 0
        or completion < 0
        or cached < 0
        or writes < 0
        or reasoning < 0
        or cached + writes > prompt
        or reasoning > completion
    ):
        return None  # what Usage() rejects
    return (prompt, completion, cached, writes, 0, reasoning, False)


def fast_openai_chat(usage: Any) -> Usage | None:
    """The :class:`Usage` of an OpenAI chat-completions usage object or dict, or ``None`` for
    the full parser (any other shape or value, e.g. a whole response)."""
    counts = openai_chat_counts(usage)
    return None if counts is None else Usage(*counts)
