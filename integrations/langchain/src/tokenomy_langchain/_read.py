"""Reading an ``LLMResult`` (what ``on_llm_end`` / ``on_llm_error`` get) into core inputs.

Where LangChain puts what a call used (read from langchain-core 1.7's source):

* Chat models put the provider's usage on each message's ``usage_metadata``. One list of
  ``LLMResult.generations`` is one prompt, answered by one response; langchain-openai copies
  that response's usage onto *every* choice when ``n > 1``, so within one list identical
  usage is counted once, while different lists (prompts) are added up.
* Legacy (completion) LLMs report ``llm_output["token_usage"]`` for the whole provider
  call; ``LLMResult.flatten()`` keeps it on the first prompt's run and sets it to ``{}`` on
  the others, which therefore record zero tokens (never the same tokens twice). A chat
  model's ``llm_output`` is read only when no message carries ``usage_metadata``.
* A hit of LangChain's LLM cache (``set_llm_cache`` / a model's ``cache=``) still fires
  ``on_chat_model_start`` and ``on_llm_end``; ``BaseChatModel._convert_cached_generations``
  marks the cached message by adding ``"total_cost": 0`` to its ``usage_metadata``, keeping
  the token counts of the call that filled the cache. That marker is how a hit is told.
* What ``UsageMetadata`` has no field for (web searches, Anthropic advisor steps on another
  model, OpenRouter's billed ``cost``) is read from the provider's raw usage the chat models
  keep in ``response_metadata`` (``"usage"``: langchain-anthropic; ``"token_usage"``:
  langchain-openai) and from Responses output blocks in the message content, with
  :func:`tokenomy.usage.usage_extra`, only when a cheap look says one is there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.usage import Usage, UsageExtra, parse_usage, usage_extra, usage_from_langchain

if TYPE_CHECKING:
    from langchain_core.outputs import LLMResult

__all__ = ["ResultInfo", "cache_kind", "output_text", "read_result"]


class ResultInfo:
    """What one model run's result says about the call."""

    __slots__ = (
        "billed_usd",
        "cache_hit",
        "model",
        "provider",
        "service_tier",
        "truncated",
        "usage",
    )

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self.billed_usd: Decimal | None = None  # what the provider says it billed
        self.cache_hit = False
        self.model: str | None = None
        self.provider: str | None = None
        self.service_tier: str | None = None
        self.truncated = False  # a generation was cut by its length limit


def read_result(response: LLMResult | None) -> ResultInfo:
    """Usage, cache-hit marker, model, service tier and truncation of ``response`` (all may
    be absent)."""
    info = ResultInfo()
    if response is None:
        return info
    usage: Usage | None = None
    for generations in response.generations:
        seen: list[Mapping[str, Any]] = []
        for generation in generations:
            message = getattr(generation, "message", None)
            if message is None:
                continue
            metadata = message.response_metadata
            if metadata:
                if info.model is None:
                    info.model = _text(metadata.get("model_name")) or _text(metadata.get("model"))
                    info.provider = _text(metadata.get("model_provider"))
                    info.service_tier = _text(metadata.get("service_tier"))
                if (
                    metadata.get("finish_reason") == "length"
                    or metadata.get("stop_reason") == "max_tokens"
                ):
                    info.truncated = True
            meta = getattr(message, "usage_metadata", None)
            if not meta:
                continue
            if meta.get("total_cost") == 0:
                info.cache_hit = True
            if "input_tokens" not in meta and "output_tokens" not in meta:
                continue
            if seen and meta in seen:  # the same response's usage on another choice
                continue
            seen.append(meta)
            one = usage_from_langchain(meta)
            extra = _extra(metadata, message.content) if metadata else None
            if extra is not None:
                one = one.with_extra(extra if one.extra is None else one.extra + extra)
            usage = one if usage is None else usage + one
    if usage is None and response.llm_output:
        usage = _llm_output_usage(response.llm_output)
        if info.model is None:
            out = response.llm_output
            info.model = _text(out.get("model_name")) or _text(out.get("model"))
    info.usage = usage
    if usage is not None and usage.extra is not None:
        info.billed_usd = usage.extra.billed_usd
    return info


_TOOL_BLOCKS = frozenset({"web_search_call", "image_generation_call"})


def _extra(metadata: Mapping[str, Any], content: Any) -> UsageExtra | None:
    """The :class:`UsageExtra` of one message's raw provider usage and output blocks, or
    ``None`` (looked at only when a key that carries one is there)."""
    found: UsageExtra | None = None
    raw = metadata.get("token_usage")
    if type(raw) is dict and raw.get("cost") is not None:
        found = usage_extra(raw)
    raw = metadata.get("usage")
    if type(raw) is dict and ("server_tool_use" in raw or "iterations" in raw or "cost" in raw):
        found = usage_extra(raw)
    if type(content) is list:
        items = [b for b in content if type(b) is dict and b.get("type") in _TOOL_BLOCKS]
        if items:
            calls = usage_extra({"output": items})
            if calls is not None:
                found = calls if found is None else found + calls
    return found


def _llm_output_usage(llm_output: Mapping[str, Any]) -> Usage | None:
    for key in ("token_usage", "usage"):
        value = llm_output.get(key)
        if value is None:
            continue
        if isinstance(value, Mapping) and not value:
            return Usage()  # LLMResult.flatten(): counted on the batch's first prompt
        return parse_usage(value)
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def output_text(response: LLMResult | None) -> str:
    """The text (and tool-call arguments) a result generated, for estimating its tokens."""
    if response is None:
        return ""
    parts: list[str] = []
    for generations in response.generations:
        for generation in generations:
            parts.append(generation.text)
            message = getattr(generation, "message", None)
            for call in getattr(message, "tool_calls", None) or ():
                parts.append(str(call.get("name") or ""))
                parts.append(json.dumps(call.get("args") or {}, ensure_ascii=False))
    return "".join(parts)


def cache_kind() -> str:
    """``"semantic"`` when the global LLM cache is a semantic one, else ``"exact"``."""
    from langchain_core.globals import get_llm_cache

    cache = get_llm_cache()
    return "semantic" if cache is not None and "Semantic" in type(cache).__name__ else "exact"
