"""Normalised token usage and one parser per provider wire format.

Every parser returns a :class:`Usage` in one convention: ``input`` counts every prompt
token (cache reads and writes are parts of it), ``output`` every generated token
(reasoning is part of it). :func:`parse_usage` tells the format by the shape of what it is
given; :func:`parse_response` reads a whole raw response (JSON, SSE text or a list of
events); :class:`StreamUsage` follows a stream event by event.

Each name is imported from its private module on first access, so importing one module
of this package (a report reading ``_model``) does not import the rest.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy.usage._anthropic import usage_from_anthropic
    from tokenomy.usage._bedrock import usage_from_bedrock
    from tokenomy.usage._detect import detect_api, parse_usage
    from tokenomy.usage._extra import usage_extra
    from tokenomy.usage._frameworks import (
        service_tier_from_langchain,
        usage_from_langchain,
        usage_from_llamaindex,
    )
    from tokenomy.usage._gemini import usage_from_gemini
    from tokenomy.usage._model import USAGE_FIELDS, Usage, UsageExtra
    from tokenomy.usage._openai import usage_from_openai_chat, usage_from_openai_responses
    from tokenomy.usage._parsed import APIS, ParsedResponse
    from tokenomy.usage._response import parse_response
    from tokenomy.usage._stream import StreamUsage

_LAZY: dict[str, str] = {
    "APIS": "tokenomy.usage._parsed",
    "ParsedResponse": "tokenomy.usage._parsed",
    "StreamUsage": "tokenomy.usage._stream",
    "USAGE_FIELDS": "tokenomy.usage._model",
    "Usage": "tokenomy.usage._model",
    "UsageExtra": "tokenomy.usage._model",
    "detect_api": "tokenomy.usage._detect",
    "parse_response": "tokenomy.usage._response",
    "parse_usage": "tokenomy.usage._detect",
    "service_tier_from_langchain": "tokenomy.usage._frameworks",
    "usage_extra": "tokenomy.usage._extra",
    "usage_from_anthropic": "tokenomy.usage._anthropic",
    "usage_from_bedrock": "tokenomy.usage._bedrock",
    "usage_from_gemini": "tokenomy.usage._gemini",
    "usage_from_langchain": "tokenomy.usage._frameworks",
    "usage_from_llamaindex": "tokenomy.usage._frameworks",
    "usage_from_openai_chat": "tokenomy.usage._openai",
    "usage_from_openai_responses": "tokenomy.usage._openai",
}

__all__ = [
    "APIS",
    "USAGE_FIELDS",
    "ParsedResponse",
    "StreamUsage",
    "Usage",
    "UsageExtra",
    "detect_api",
    "parse_response",
    "parse_usage",
    "service_tier_from_langchain",
    "usage_extra",
    "usage_from_anthropic",
    "usage_from_bedrock",
    "usage_from_gemini",
    "usage_from_langchain",
    "usage_from_llamaindex",
    "usage_from_openai_chat",
    "usage_from_openai_responses",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
