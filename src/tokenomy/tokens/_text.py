"""Helpers shared by the format-specific counters."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

__all__ = ["dumps", "encode_len"]


def encode_len(enc: tiktoken.Encoding, text: str) -> int:
    """Tokens of ``text``; special-token strings in user text count as plain text."""
    if not text:
        return 0
    return len(enc.encode(text, disallowed_special=()))


def dumps(value: Any) -> str:
    """Compact JSON, the way arguments and schemas are usually serialised on the wire."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
