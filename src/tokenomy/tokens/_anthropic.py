"""Anthropic Messages request bodies: always estimates (Claude's tokenizer is not public)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens._encoding import get_encoding
from tokenomy.tokens._result import TokenEstimate
from tokenomy.tokens._text import dumps, encode_len

__all__ = ["estimate_anthropic_body"]

_ENCODING = "o200k_base"
_PER_MESSAGE = 3
_BASE = 4


def estimate_anthropic_body(body: Mapping[str, Any]) -> TokenEstimate:
    """Estimate an Anthropic ``/v1/messages`` request body (``estimated=True`` always)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise TokenCountError(
            "Anthropic request body has no 'messages' list; expected "
            '{"model": "claude-...", "max_tokens": 1024, "messages": [...]}'
        )
    enc = get_encoding(_ENCODING)
    total = _BASE
    system = body.get("system")
    if system:
        total += _PER_MESSAGE + _blocks(enc, system)
    for message in messages:
        if not isinstance(message, Mapping):
            raise TokenCountError(f"Anthropic message must be a dict, got {type(message).__name__}")
        total += _PER_MESSAGE + _blocks(enc, message.get("content"))
    for tool in body.get("tools") or ():
        total += encode_len(enc, dumps(tool))
    return TokenEstimate(
        prompt_tokens=total, estimated=True, encoding=_ENCODING, method="anthropic-approx"
    )


def _blocks(enc: Any, content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return encode_len(enc, content)
    total = 0
    for block in content:
        if isinstance(block, Mapping) and block.get("type") == "text":
            total += encode_len(enc, str(block.get("text") or ""))
        else:
            total += encode_len(enc, dumps(block))
    return total
