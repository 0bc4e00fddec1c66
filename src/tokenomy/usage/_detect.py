"""Telling a response's wire format by its shape, and :func:`parse_usage` for any of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tokenomy.exceptions import UsageParseError
from tokenomy.usage._anthropic import usage_from_anthropic
from tokenomy.usage._bedrock import METRICS_KEY, bedrock_headers, usage_from_bedrock
from tokenomy.usage._frameworks import usage_from_langchain, usage_from_llamaindex
from tokenomy.usage._gemini import gemini_metadata, usage_from_gemini
from tokenomy.usage._model import Usage
from tokenomy.usage._openai import usage_from_openai_chat, usage_from_openai_responses
from tokenomy.usage._plain import is_sequence, to_plain

__all__ = ["EXPECTED", "detect_api", "error_message", "parse_usage"]

#: What a readable response looks like (for error messages).
EXPECTED = (
    "an OpenAI chat completion or Responses body, an Anthropic message, a Gemini "
    "GenerateContentResponse, a Bedrock Converse body, their streamed events (SSE text or a "
    "JSON list), a LangChain UsageMetadata or a LlamaIndex ChatResponse"
)

_ANTHROPIC_EVENTS = frozenset(
    {
        "message",
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "ping",
    }
)
_CONVERSE_EVENTS = frozenset(
    {
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    }
)
_OBJECTS = {
    "chat.completion": "chat.completions",
    "chat.completion.chunk": "chat.completions",
    "text_completion": "completions",
    "response": "responses",
}


def _usage_api(u: Mapping[str, Any]) -> str | None:
    """The format of a bare usage object, by its keys."""
    if "prompt_tokens" in u or "prompt_tokens_details" in u or "completion_tokens" in u:
        return "chat.completions"
    if "input_tokens_details" in u:
        return "responses"
    anthropic = ("cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation")
    if any(k in u for k in anthropic) or "iterations" in u:
        return "messages"
    out_details = u.get("output_tokens_details")
    if isinstance(out_details, Mapping):
        return "messages" if "thinking_tokens" in out_details else "responses"
    if "input_token_details" in u or "output_token_details" in u:
        return "langchain"
    if "inputTokens" in u or "outputTokens" in u or "inputTokenCount" in u:
        return "bedrock"
    if "input_tokens" in u or "output_tokens" in u:
        # Only totals: every convention agrees. LangChain's UsageMetadata has total_tokens.
        return "langchain" if "total_tokens" in u else "messages"
    if gemini_metadata(u) is u:
        return "gemini"
    return None


def detect_api(d: Mapping[str, Any]) -> str | None:
    """The wire format of a body, stream event or usage object; ``"langchain"`` for a
    ``UsageMetadata``; ``None`` when it is none of them (an error body, say).
    """
    obj = d.get("object")
    if isinstance(obj, str) and obj in _OBJECTS:
        return _OBJECTS[obj]
    if obj == "list" and isinstance(d.get("usage"), Mapping):
        return "embeddings"
    kind = d.get("type")
    if isinstance(kind, str):
        if kind.startswith("response."):
            return "responses"
        if kind in _ANTHROPIC_EVENTS:
            return "messages"
    if "choices" in d and ("usage" in d or "model" in d):
        return "chat.completions"
    if isinstance(d.get("response"), Mapping) and "usage" in d["response"]:
        return "responses"
    if isinstance(d.get("message"), Mapping) and "usage" in d["message"]:
        return "messages"
    meta = d.get("usage_metadata")
    if isinstance(meta, Mapping) and ("input_tokens" in meta or "output_tokens" in meta):
        return "langchain"
    if "candidates" in d or gemini_metadata(d) is not None:
        return "gemini"
    if any(k in d for k in _CONVERSE_EVENTS) or METRICS_KEY in d or "stopReason" in d:
        return "bedrock"
    if bedrock_headers(d) is not None:
        return "bedrock"
    usage = d.get("usage")
    if isinstance(usage, Mapping):
        return _usage_api(usage)
    return _usage_api(d)


def error_message(d: Mapping[str, Any]) -> str | None:
    """The message of a provider error body (OpenAI, Anthropic, Gemini...), if ``d`` is one."""
    err = d.get("error")
    if isinstance(err, Mapping):
        return str(err.get("message") or err.get("type") or err)
    if isinstance(err, str):
        return err
    if d.get("type") == "error" and "message" in d:
        return str(d["message"])
    if "detail" in d and len(d) <= 2:
        return str(d["detail"])
    return None


_PARSERS: dict[str, Callable[[Any], Usage]] = {
    "chat.completions": usage_from_openai_chat,
    "completions": usage_from_openai_chat,
    "embeddings": usage_from_openai_chat,
    "responses": usage_from_openai_responses,
    "messages": usage_from_anthropic,
    "gemini": usage_from_gemini,
    "bedrock": usage_from_bedrock,
    "langchain": usage_from_langchain,
}


def parse_usage(obj: Any) -> Usage:
    """The normalised :class:`Usage` of anything a provider or framework hands back.

    Accepts a response body (dict or SDK object), its ``usage`` object, a stream (a list of
    chunks/events, or SSE text), a raw JSON string or bytes, a LangChain message or
    ``UsageMetadata``, or a LlamaIndex ``ChatResponse``. The format is told by the shape.
    Raises :class:`~tokenomy.exceptions.UsageParseError` when no usage can be read.
    """
    if isinstance(obj, Usage):
        return obj
    if isinstance(obj, (str, bytes, bytearray)) or is_sequence(obj):
        from tokenomy.usage._response import parse_response

        return parse_response(obj).usage
    if not isinstance(obj, Mapping):
        if hasattr(obj, "raw") and hasattr(obj, "additional_kwargs"):
            return usage_from_llamaindex(obj)
        meta = getattr(obj, "usage_metadata", None)
        if meta is not None and not hasattr(obj, "candidates"):
            return usage_from_langchain(obj)
    plain = to_plain(obj)
    if is_sequence(plain):
        return parse_usage(plain)
    if not isinstance(plain, Mapping):
        raise UsageParseError(f"cannot read usage from a {type(obj).__name__}", expected=EXPECTED)
    if "raw" in plain and "additional_kwargs" in plain:
        return usage_from_llamaindex(plain)
    api = detect_api(plain)
    if api is None:
        problem = error_message(plain)
        reason = (
            f"the body is an error response ({problem}), which reports no usage"
            if problem
            else f"no usage found (keys {sorted(plain)[:12]})"
        )
        raise UsageParseError(reason, expected=EXPECTED)
    if api in ("responses", "messages", "gemini", "bedrock", "chat.completions") and (
        _is_stream_event(plain)
    ):
        from tokenomy.usage._stream import StreamUsage

        stream = StreamUsage()
        stream.feed(plain)
        return stream.require_usage()
    return _PARSERS[api](plain)


def _is_stream_event(d: Mapping[str, Any]) -> bool:
    kind = d.get("type")
    if isinstance(kind, str) and (kind.startswith("response.") or kind.startswith("message_")):
        return True
    return any(k in d for k in _CONVERSE_EVENTS)
