"""Tool definitions and structured-output schemas: best-effort token counts.

OpenAI renders function definitions into the system prompt in an unpublished TypeScript-like
format; this follows the cookbook's approximation. Counts are estimates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tokenomy.tokens._text import dumps, encode_len

__all__ = ["count_response_format", "count_tools"]

_FUNC_INIT = 7
_PROP_INIT = 3
_PROP_KEY = 3
_ENUM_INIT = -3
_ENUM_ITEM = 3
_FUNC_END = 12


def count_tools(enc: Any, tools: Sequence[Mapping[str, Any]]) -> int:
    """Approximate tokens of chat ``tools`` (cookbook rule for gpt-4o/gpt-4o-mini)."""
    total = 0
    for tool in tools:
        function = tool.get("function", tool) if isinstance(tool, Mapping) else {}
        if not isinstance(function, Mapping) or "name" not in function:
            total += encode_len(enc, dumps(tool))  # built-in tools: best guess
            continue
        total += _FUNC_INIT
        desc = str(function.get("description") or "").removesuffix(".")
        total += encode_len(enc, f"{function['name']}:{desc}")
        params = function.get("parameters") or {}
        props = params.get("properties") or {} if isinstance(params, Mapping) else {}
        if props:
            total += _PROP_INIT
            for key, prop in props.items():
                total += _PROP_KEY
                prop = prop if isinstance(prop, Mapping) else {}
                if "enum" in prop:
                    total += _ENUM_INIT
                    for item in prop["enum"]:
                        total += _ENUM_ITEM + encode_len(enc, str(item))
                p_desc = str(prop.get("description") or "").removesuffix(".")
                total += encode_len(enc, f"{key}:{prop.get('type', '')}:{p_desc}")
    if tools:
        total += _FUNC_END
    return total


def count_response_format(enc: Any, response_format: Mapping[str, Any]) -> tuple[int, bool]:
    """Tokens a ``response_format`` adds, and whether that count is approximate."""
    kind = response_format.get("type")
    if kind in (None, "text"):
        return 0, False
    return encode_len(enc, dumps(response_format)), True
