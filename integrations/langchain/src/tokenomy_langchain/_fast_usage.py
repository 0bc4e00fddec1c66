"""A fast path for the common ``usage_metadata``: a plain dict of plain ints.

``tokenomy.usage.usage_from_langchain`` accepts anything (SDK objects, tier-prefixed detail
keys, float counts, inconsistent reports) and first deep-copies its input into plain data,
which costs more than everything else the handler does per call. This reads the shape the
official integrations produce directly and returns ``None`` for anything else, which then
goes to the core parser; ``tests/langchain/test_lc_fast_usage.py`` pins the two to the same
result.
"""

from __future__ import annotations

from typing import Any

from tokenomy.usage import Usage

__all__ = ["fast_usage"]

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


def fast_usage(meta: Any) -> Usage | None:
    """The usage of a plain ``UsageMetadata`` dict, or ``None`` to defer to the core parser."""
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
    try:
        return Usage(inp, out, read, writes - w1, w1, reasoning)
    except ValueError:  # an inconsistent report: the core parser decides what to make of it
        return None
