"""Google Gemini usage (``usageMetadata`` of the Gemini API and Vertex AI).

``promptTokenCount`` includes ``cachedContentTokenCount``. ``toolUsePromptTokenCount``
(tokens of tool results the model read, e.g. grounding) is a separate prompt count billed
as input. Billed output is ``candidatesTokenCount + thoughtsTokenCount``; the thoughts are
the reasoning part. ``totalTokenCount`` is the sum of prompt, tool-use prompt, candidates
and thoughts. Both the REST (camelCase) and the google-genai SDK (snake_case) spellings are
read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenomy.exceptions import UsageParseError
from tokenomy.usage._model import Usage
from tokenomy.usage._plain import as_mapping, count, first, make_usage

__all__ = ["gemini_metadata", "usage_from_gemini"]

_WHAT = "Gemini usageMetadata"
_PROMPT = ("promptTokenCount", "prompt_token_count")


def gemini_metadata(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The usage metadata inside a Gemini response, or ``data`` itself if it is one."""
    for key in ("usageMetadata", "usage_metadata"):
        inner = data.get(key)
        if isinstance(inner, Mapping):
            return inner
    if any(k in data for k in (*_PROMPT, "candidatesTokenCount", "candidates_token_count")):
        return data
    return None


def usage_from_gemini(obj: Any) -> Usage:
    """Usage of a Gemini ``GenerateContentResponse`` (dict or SDK object) or its metadata."""
    data = as_mapping(obj)
    meta = None if data is None else gemini_metadata(data)
    if meta is None:
        raise UsageParseError(
            f"{_WHAT}: none found in {type(obj).__name__}",
            expected="a GenerateContentResponse with usageMetadata (promptTokenCount, ...)",
        )
    prompt = first(count(meta, *_PROMPT, what=_WHAT))
    tool_prompt = first(
        count(meta, "toolUsePromptTokenCount", "tool_use_prompt_token_count", what=_WHAT)
    )
    cached = first(count(meta, "cachedContentTokenCount", "cached_content_token_count", what=_WHAT))
    candidates = first(count(meta, "candidatesTokenCount", "candidates_token_count", what=_WHAT))
    thoughts = first(count(meta, "thoughtsTokenCount", "thoughts_token_count", what=_WHAT))
    return make_usage(
        _WHAT,
        input=prompt + tool_prompt,
        output=candidates + thoughts,
        cache_read=cached,
        reasoning=thoughts,
    )
