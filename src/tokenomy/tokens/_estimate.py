"""Dispatch a request body, as sent on the wire, to the counter of its format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens._anthropic import estimate_anthropic_body
from tokenomy.tokens._encoding import encoding_for_model
from tokenomy.tokens._openai_chat import estimate_chat_body
from tokenomy.tokens._responses import estimate_responses_body
from tokenomy.tokens._result import TokenEstimate
from tokenomy.tokens._text import encode_len
from tokenomy.usage import Usage

__all__ = ["REQUEST_FORMATS", "estimate_request", "estimate_usage", "request_format"]

#: The request formats :func:`estimate_request` understands.
REQUEST_FORMATS: tuple[str, ...] = ("anthropic-messages", "openai-chat", "openai-responses")

_EXPECTED = (
    "an OpenAI chat body ({'model', 'messages'}), an OpenAI Responses body ({'model', 'input'}) "
    "or an Anthropic messages body ({'model', 'max_tokens', 'messages'})"
)


def request_format(body: Mapping[str, Any], *, provider: str | None = None) -> str:
    """Which of :data:`REQUEST_FORMATS` ``body`` is, from its shape (``provider`` breaks ties)."""
    if not isinstance(body, Mapping):
        raise TokenCountError(f"request body must be a JSON object, got {type(body).__name__}")
    if "input" in body and "messages" not in body:
        return "openai-responses"
    if "messages" not in body:
        raise TokenCountError(
            f"cannot tell the request format: keys {sorted(body)}; expected {_EXPECTED}"
        )
    if provider:
        p = provider.lower()
        if p in ("anthropic", "claude", "bedrock", "vertex_ai"):
            return "anthropic-messages"
        if p in ("openai", "azure", "azure_openai"):
            return "openai-chat"
    model = str(body.get("model") or "").lower()
    if "claude" in model or "system" in body or "anthropic_version" in body:
        return "anthropic-messages"
    return "openai-chat"


def estimate_request(body: Mapping[str, Any], *, provider: str | None = None) -> TokenEstimate:
    """Prompt tokens of one request body, as sent on the wire.

    Understands OpenAI chat, OpenAI Responses and Anthropic messages bodies (the format is
    read from the body's shape; ``provider`` only settles a chat-vs-Anthropic tie).
    """
    fmt = request_format(body, provider=provider)
    if fmt == "openai-responses":
        return estimate_responses_body(body)
    if fmt == "anthropic-messages":
        return estimate_anthropic_body(body)
    return estimate_chat_body(body)


def estimate_usage(
    request_body: Mapping[str, Any], completion_text: str, *, model: str | None = None
) -> Usage:
    """An ``estimated=True`` :class:`Usage` for a call whose provider reported none."""
    prompt = estimate_request(request_body)
    name = model or str(request_body.get("model") or "gpt-4o")
    output = encode_len(encoding_for_model(name), completion_text or "")
    return Usage(input=prompt.prompt_tokens, output=output, estimated=True)
