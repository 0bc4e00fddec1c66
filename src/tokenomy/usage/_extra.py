""":func:`usage_extra`: what a raw provider usage or response reports beyond text tokens.

For integrations whose framework keeps its own token counts (LangChain's ``UsageMetadata``
has no field for web searches, steps on other models or a billed amount) but also passes the
provider's raw usage on (``response_metadata["usage"]`` / ``["token_usage"]``, LlamaIndex's
``raw``): the counts come from the framework, the extras from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenomy.exceptions import UsageParseError
from tokenomy.usage._anthropic import anthropic_usage
from tokenomy.usage._model import UsageExtra
from tokenomy.usage._openai import billed_of, tool_calls, usage_from_openai_chat
from tokenomy.usage._plain import as_mapping

__all__ = ["usage_extra"]


def usage_extra(obj: Any) -> UsageExtra | None:
    """The :class:`~tokenomy.usage.UsageExtra` of a raw usage object or response (dict or SDK
    object): Anthropic ``server_tool_use`` and named ``iterations``, OpenAI-format
    ``audio_tokens`` and ``cost`` (OpenRouter), Responses ``web_search_call`` /
    ``image_generation_call`` output items. ``None`` when it reports none of them or cannot
    be read (never raises: the counts are read elsewhere)."""
    data = as_mapping(obj)
    if data is None:
        return None
    usage = data.get("usage")
    u: Mapping[str, Any] = usage if isinstance(usage, Mapping) else data
    extra = UsageExtra()
    try:
        if "prompt_tokens" in u:
            found = usage_from_openai_chat(u).extra
            extra = found if found is not None else extra
        elif "input_tokens" in u and ("server_tool_use" in u or "iterations" in u):
            found = anthropic_usage(u).extra
            extra = found if found is not None else extra
        elif "cost" in u:
            extra = UsageExtra(billed_usd=billed_of(u))
    except UsageParseError:
        return None
    searches, images = tool_calls(data)
    if searches or images:
        extra = extra + UsageExtra(
            web_searches=searches, image_generations=len(images), images=images
        )
    return None if extra.is_empty() else extra
