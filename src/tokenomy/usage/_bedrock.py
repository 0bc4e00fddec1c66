"""Amazon Bedrock usage: the Converse API, InvokeModel metrics and the response headers.

Converse reports ``usage: {inputTokens, outputTokens, totalTokens, cacheReadInputTokens,
cacheWriteInputTokens, cacheDetails}`` where ``inputTokens`` EXCLUDES the cache tokens
(``totalTokens`` = all four summed) and ``cacheDetails`` splits the writes by TTL
(``[{"ttl": "1h" | "5m", "inputTokens": n}]``). InvokeModel with an Anthropic model returns
an Anthropic Messages body (read by :func:`usage_from_anthropic`); its invocation metrics
(``amazon-bedrock-invocationMetrics`` in the last stream chunk) and the
``x-amzn-bedrock-*-token-count`` response headers use the same exclusive convention.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenomy.exceptions import UsageParseError
from tokenomy.usage._anthropic import anthropic_usage
from tokenomy.usage._model import Usage
from tokenomy.usage._plain import as_mapping, count, first, make_usage

__all__ = ["bedrock_headers", "converse_usage", "usage_from_bedrock"]

_WHAT = "Bedrock usage"
_HEADER_PREFIX = "x-amzn-bedrock-"
METRICS_KEY = "amazon-bedrock-invocationMetrics"


def _split_writes(details: Any, writes: int) -> tuple[int, int]:
    """(5m, 1h) cache writes from Converse ``cacheDetails``; unsplit writes are 5m."""
    w1 = 0
    split = 0
    if isinstance(details, list):
        for item in details:
            if not isinstance(item, Mapping):
                continue
            n = first(count(item, "inputTokens", what=_WHAT + " cacheDetails"))
            split += n
            if str(item.get("ttl", "")).lower() == "1h":
                w1 += n
    total = max(writes, split)
    return total - w1, w1


def converse_usage(u: Mapping[str, Any]) -> Usage:
    """Normalise a Converse ``usage`` (or InvokeModel metrics: ``inputTokenCount``, ...)."""
    base = count(u, "inputTokens", "inputTokenCount", what=_WHAT)
    output = count(u, "outputTokens", "outputTokenCount", what=_WHAT)
    if base is None and output is None:
        raise UsageParseError(
            f"{_WHAT}: no inputTokens/outputTokens among {sorted(u)}",
            expected="a Converse usage object (inputTokens, outputTokens, cache*InputTokens)",
        )
    read = first(count(u, "cacheReadInputTokens", "cacheReadInputTokenCount", what=_WHAT))
    writes = first(count(u, "cacheWriteInputTokens", "cacheWriteInputTokenCount", what=_WHAT))
    w5, w1 = _split_writes(u.get("cacheDetails"), writes)
    return make_usage(
        _WHAT,
        input=first(base) + read + w5 + w1,
        output=first(output),
        cache_read=read,
        cache_write_5m=w5,
        cache_write_1h=w1,
    )


def bedrock_headers(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``x-amzn-bedrock-*`` token headers (case-insensitive) as Converse-style counts."""
    headers: Mapping[str, Any] = data
    meta = data.get("ResponseMetadata")
    if isinstance(meta, Mapping) and isinstance(meta.get("HTTPHeaders"), Mapping):
        headers = meta["HTTPHeaders"]
    lowered = {str(k).lower(): v for k, v in headers.items()}
    names = {
        "inputTokens": "input-token-count",
        "outputTokens": "output-token-count",
        "cacheReadInputTokens": "cache-read-input-token-count",
        "cacheWriteInputTokens": "cache-write-input-token-count",
    }
    found = {
        field: lowered[_HEADER_PREFIX + suffix]
        for field, suffix in names.items()
        if _HEADER_PREFIX + suffix in lowered
    }
    return found if ("inputTokens" in found or "outputTokens" in found) else None


def usage_from_bedrock(obj: Any) -> Usage:
    """Usage of a Bedrock response: Converse (or a ConverseStream ``metadata`` event), an
    InvokeModel body (Anthropic format, or with ``amazon-bedrock-invocationMetrics``), or a
    mapping of response headers (``x-amzn-bedrock-input-token-count``, ...; boto3's
    ``ResponseMetadata.HTTPHeaders`` is looked into).
    """
    data = as_mapping(obj)
    if data is None:
        raise UsageParseError(
            f"{_WHAT}: got {type(obj).__name__}, not a response",
            expected="a Converse response dict, an InvokeModel body or a dict of headers",
        )
    if isinstance(data.get("metadata"), Mapping):  # ConverseStream metadata event
        data = data["metadata"]
    usage = data.get("usage")
    if isinstance(usage, Mapping):
        if "inputTokens" in usage or "outputTokens" in usage:
            return converse_usage(usage)
        if "input_tokens" in usage or "output_tokens" in usage:
            return anthropic_usage(usage)
    if "inputTokens" in data or "outputTokens" in data:
        return converse_usage(data)
    metrics = data.get(METRICS_KEY)
    if isinstance(metrics, Mapping):
        return converse_usage(metrics)
    headers = bedrock_headers(data)
    if headers is not None:
        return converse_usage(headers)
    raise UsageParseError(
        f"{_WHAT}: no usage, invocation metrics or x-amzn-bedrock-*-token-count headers "
        f"among the keys {sorted(data)[:12]}",
        expected="a Converse response ('usage': {inputTokens, outputTokens, ...}), an "
        "InvokeModel body or the response headers",
    )
