"""Normalised token usage and one parser per provider wire format.

Every parser returns a :class:`Usage` in one convention: ``input`` counts every prompt
token (cache reads and writes are parts of it), ``output`` every generated token
(reasoning is part of it). :func:`parse_usage` tells the format by the shape of what it is
given; :func:`parse_response` reads a whole raw response (JSON, SSE text or a list of
events); :class:`StreamUsage` follows a stream event by event.
"""

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
