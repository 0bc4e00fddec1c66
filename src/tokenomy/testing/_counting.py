"""Token counts for simulated usage, from ``tokenomy.tokens`` (offline tiktoken).

Prompt tokens are exactly what ``tokenomy.tokens.estimate_request`` says for the request body,
so they equal the pre-call estimate; answer tokens are the tiktoken tokens of the answer text
in the model's encoding. ``tokenomy.tokens`` (and so tiktoken) is imported on first use only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["prompt_tokens", "split_tokens", "text_tokens", "token_ids", "truncate_tokens"]


def prompt_tokens(body: Mapping[str, Any], provider: str) -> int:
    """Prompt tokens of a chat / Responses / Anthropic request body."""
    from tokenomy.tokens import estimate_request

    return estimate_request(body, provider=provider).prompt_tokens


def token_ids(text: str, model: str) -> list[int]:
    """The tiktoken ids of ``text`` (special-token strings count as plain text)."""
    if not text:
        return []
    from tokenomy.tokens import encoding_for_model

    return list(encoding_for_model(model).encode(text, disallowed_special=()))


def text_tokens(text: str, model: str) -> int:
    """Tokens of ``text`` in ``model``'s encoding."""
    if not text:
        return 0
    from tokenomy.tokens import count_text

    return count_text(text, model)


def split_tokens(text: str, model: str) -> list[str]:
    """``text`` cut at token boundaries, one piece per token (a piece may hold several tokens
    when a character's bytes span them); ``"".join(pieces) == text``."""
    ids = token_ids(text, model)
    if not ids:
        return []
    from tokenomy.tokens import encoding_for_model

    enc = encoding_for_model(model)
    pieces: list[str] = []
    pending = b""
    for token in ids:
        pending += enc.decode_single_token_bytes(token)
        try:
            piece = pending.decode("utf-8")
        except UnicodeDecodeError:
            continue
        pieces.append(piece)
        pending = b""
    if pending:
        pieces.append(pending.decode("utf-8", errors="replace"))
    return pieces


def truncate_tokens(text: str, model: str, keep: int) -> str:
    """The first ``keep`` tokens' worth of ``text``."""
    return "".join(split_tokens(text, model)[: max(keep, 0)])
