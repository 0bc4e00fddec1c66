"""Dispatch a request body, as sent on the wire, to the counter of its format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens._anthropic import estimate_anthropic_body
from tokenomy.tokens._encoding import encoding_for_model
from tokenomy.tokens._openai_chat import estimate_chat_body
from tokenomy.tokens._responses import estimate_responses_body
from tokenomy.tokens._result import TokenEstimate
from tokenomy.tokens._text import encode_len

if TYPE_CHECKING:
    from tokenomy.usage import Usage

__all__ = ["REQUEST_FORMATS", "estimate_request", "estimate_usage", "request_format"]

#: The request formats :func:`estimate_request` understands.
REQUEST_FORMATS: tuple[str, ...] = ("anthropic-messages", "openai-chat", "openai-responses")

EXPECTED_BODY = (
    'an OpenAI chat body {"model", "messages"}, an OpenAI Responses body {"model", "input"} '
    'or an Anthropic messages body {"model", "max_tokens", "messages"}'
)

_ANTHROPIC_PROVIDERS = frozenset({"anthropic", "claude", "bedrock", "vertex_ai", "vertex"})
_OPENAI_PROVIDERS = frozenset({"openai", "azure", "azure_openai"})
_ANTHROPIC_KEYS = frozenset(
    {"system", "anthropic_version", "stop_sequences", "top_k", "thinking", "output_config"}
    | {"mcp_servers", "container", "context_management"}
)
_OPENAI_KEYS = frozenset(
    {"max_completion_tokens", "response_format", "stream_options", "n", "logprobs"}
    | {"functions", "function_call", "frequency_penalty", "presence_penalty", "seed"}
)
_ANTHROPIC_BLOCKS = frozenset(
    {"tool_use", "tool_result", "thinking", "redacted_thinking", "document", "search_result"}
)


def request_format(body: Mapping[str, Any], *, provider: str | None = None) -> str:
    """Which of :data:`REQUEST_FORMATS` ``body`` is, read from its shape.

    A body with ``input`` and no ``messages`` is a Responses request whatever the provider
    label says; between chat and Anthropic bodies, an explicit ``provider`` decides, else
    tell-tale keys (``system``, ``tool_use`` blocks, ``input_schema`` tools, a ``claude``
    model) do.
    """
    if not isinstance(body, Mapping):
        raise TokenCountError(
            f"request body must be a JSON object, got {type(body).__name__}; expected {EXPECTED_BODY}"
        )
    if "messages" not in body:
        if "input" in body:
            return "openai-responses"
        raise TokenCountError(
            f"cannot tell the request format from keys {sorted(map(str, body))}; "
            f"expected {EXPECTED_BODY}"
        )
    p = (provider or "").lower()
    if p in _ANTHROPIC_PROVIDERS:
        return "anthropic-messages"
    if p in _OPENAI_PROVIDERS:
        return "openai-chat"
    return "anthropic-messages" if _looks_anthropic(body) else "openai-chat"


def _looks_anthropic(body: Mapping[str, Any]) -> bool:
    if "claude" in str(body.get("model") or "").lower() or _ANTHROPIC_KEYS & body.keys():
        return True
    if _OPENAI_KEYS & body.keys():
        return False
    for tool in body.get("tools") or ():
        if isinstance(tool, Mapping) and "input_schema" in tool:
            return True
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, Mapping) else None
        for block in content if isinstance(content, list) else ():
            if not isinstance(block, Mapping):
                continue
            if block.get("type") in _ANTHROPIC_BLOCKS or "source" in block:
                return True
    return False


def estimate_request(body: Mapping[str, Any], *, provider: str | None = None) -> TokenEstimate:
    """Prompt tokens of one request body, as sent on the wire.

    Understands OpenAI chat, OpenAI Responses and Anthropic messages bodies (see
    :func:`request_format`). Raises :class:`~tokenomy.exceptions.TokenCountError` naming
    what was expected when the body is none of them.
    """
    fmt = request_format(body, provider=provider)
    counter = _COUNTERS[fmt]
    try:
        return counter(body)
    except TokenCountError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        # A field of an unexpected type deep inside the body (e.g. a tool given as a string).
        raise TokenCountError(
            f"malformed {fmt} request body ({type(exc).__name__}: {exc}); expected {EXPECTED_BODY}"
        ) from exc


_COUNTERS = {
    "anthropic-messages": estimate_anthropic_body,
    "openai-chat": estimate_chat_body,
    "openai-responses": estimate_responses_body,
}


def estimate_usage(
    request_body: Mapping[str, Any],
    completion_text: str,
    *,
    model: str | None = None,
    provider: str | None = None,
) -> Usage:
    """An ``estimated=True`` :class:`Usage` for a call whose provider reported none.

    ``input`` is :func:`estimate_request` of the body; ``output`` the tokens of
    ``completion_text`` in ``model``'s encoding (default: the body's model). Reasoning
    tokens cannot be seen and are not counted.
    """
    from tokenomy.usage import Usage

    prompt = estimate_request(request_body, provider=provider)
    name = model or str(request_body.get("model") or "")
    output = encode_len(encoding_for_model(name), completion_text or "")
    return Usage(input=prompt.prompt_tokens, output=output, estimated=True)
