"""Usage reported through LangChain (``UsageMetadata``) and LlamaIndex (``ChatResponse``).

LangChain's ``UsageMetadata`` already follows tokenomy's convention: ``input_tokens``
counts every prompt token, cached or not, and ``output_tokens`` every generated token.
How the two official integrations fill the details (read from their source):

* langchain-anthropic puts ``cache_read`` and ``cache_creation`` in
  ``input_token_details`` and, when Anthropic splits the writes by lifetime, also
  ``ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens`` -- and then sets
  ``cache_creation`` to 0 so the writes are not counted twice. Writes are therefore
  ``max(cache_creation, 5m + 1h)``, of which the 1h part is ``ephemeral_1h_input_tokens``.
  Thinking tokens are ``output_token_details.reasoning``.
* langchain-openai maps ``cached_tokens`` to ``cache_read``, ``cache_write_tokens`` to
  ``cache_creation`` and ``reasoning_tokens`` to ``reasoning``; on the ``priority`` and
  ``flex`` service tiers it prefixes those keys with the tier (``priority_cache_read``) and
  adds a ``priority``/``flex`` count. The prefixed keys are read too, and
  :func:`service_tier_from_langchain` tells the tier.

LlamaIndex keeps the provider's own response in ``ChatResponse.raw`` (the SDK object, a
stream chunk or event, or a dict holding SDK objects), which is read first because it has
the cache and reasoning details; llama-index-llms-openai also copies
``prompt_tokens``/``completion_tokens``/``total_tokens`` into ``additional_kwargs`` (chat) or
the SDK's ``ResponseUsage`` into ``additional_kwargs["usage"]`` (Responses), the fallbacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenomy.exceptions import UsageParseError
from tokenomy.usage._fast import fast_langchain
from tokenomy.usage._model import Usage, UsageExtra
from tokenomy.usage._plain import as_mapping, count, first, make_usage, sub, to_plain

__all__ = ["service_tier_from_langchain", "usage_from_langchain", "usage_from_llamaindex"]

_WHAT = "LangChain usage_metadata"
_TIERS = ("priority", "flex")


def _langchain_metadata(obj: Any) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        message = getattr(obj, "message", None)  # ChatGeneration / ChatGenerationChunk
        if message is not None and hasattr(message, "usage_metadata"):
            obj = message
        if hasattr(obj, "usage_metadata"):
            obj = obj.usage_metadata
    data = as_mapping(obj)
    if data is not None and isinstance(data.get("usage_metadata"), Mapping):
        data = data["usage_metadata"]
    if data is None or ("input_tokens" not in data and "output_tokens" not in data):
        shown = sorted(data)[:12] if data is not None else type(obj).__name__
        raise UsageParseError(
            f"{_WHAT}: none found ({shown})",
            expected="an AIMessage with usage_metadata or a UsageMetadata dict "
            "(input_tokens, output_tokens, input_token_details, output_token_details)",
        )
    return data


def _detail(details: Mapping[str, Any], key: str) -> int | None:
    """``key`` or its tier-prefixed spellings (``priority_<key>``, ``flex_<key>``), summed."""
    values = [count(details, name, what=_WHAT) for name in (key, *(f"{t}_{key}" for t in _TIERS))]
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def usage_from_langchain(obj: Any) -> Usage:
    """Usage of a LangChain ``UsageMetadata`` dict, or of a message that carries one."""
    return fast_langchain(obj) or _full_langchain(obj)


def _full_langchain(obj: Any) -> Usage:
    data = _langchain_metadata(obj)
    inp = first(count(data, "input_tokens", what=_WHAT))
    out = first(count(data, "output_tokens", what=_WHAT))
    details = sub(data, "input_token_details")
    out_details = sub(data, "output_token_details")
    w5 = first(count(details, "ephemeral_5m_input_tokens", what=_WHAT))
    w1 = first(count(details, "ephemeral_1h_input_tokens", what=_WHAT))
    writes = max(first(_detail(details, "cache_creation")), w5 + w1)
    usage = make_usage(
        _WHAT,
        input=inp,
        output=out,
        cache_read=first(_detail(details, "cache_read")),
        cache_write_5m=writes - w1,
        cache_write_1h=w1,
        reasoning=first(_detail(out_details, "reasoning")),
    )
    audio_in = first(count(details, "audio", what=_WHAT))
    audio_out = first(count(out_details, "audio", what=_WHAT))
    if audio_in or audio_out:
        usage = usage.with_extra(UsageExtra(audio_input=audio_in, audio_output=audio_out))
    return usage


def service_tier_from_langchain(obj: Any) -> str | None:
    """``"priority"`` or ``"flex"`` when langchain-openai tagged the usage with that tier."""
    data = _langchain_metadata(obj)
    for tier in _TIERS:
        for section in ("input_token_details", "output_token_details"):
            details = sub(data, section)
            if any(k == tier or k.startswith(tier + "_") for k in details):
                return tier
    return None


def usage_from_llamaindex(obj: Any) -> Usage:
    """Usage of a LlamaIndex ``ChatResponse`` / ``CompletionResponse`` (or its dict).

    Reads ``raw`` (the provider's response, any format :func:`parse_usage` knows) first,
    then ``additional_kwargs["usage"]``, then ``additional_kwargs`` prompt/completion counts.
    """
    from tokenomy.usage._detect import parse_usage

    if isinstance(obj, Mapping):
        raw, extra = obj.get("raw"), obj.get("additional_kwargs")
    else:
        raw, extra = getattr(obj, "raw", None), getattr(obj, "additional_kwargs", None)
    problems: list[str] = []
    if raw is not None:
        try:
            return parse_usage(raw)
        except UsageParseError as exc:
            problems.append(f"raw: {exc}")
    extra_plain = to_plain(extra) if extra is not None else None
    if isinstance(extra_plain, Mapping):
        if extra_plain.get("usage") is not None:
            try:
                return parse_usage(extra_plain["usage"])
            except UsageParseError as exc:
                problems.append(f"additional_kwargs['usage']: {exc}")
        what = "LlamaIndex additional_kwargs"
        prompt = count(extra_plain, "prompt_tokens", "input_tokens", what=what)
        completion = count(extra_plain, "completion_tokens", "output_tokens", what=what)
        if prompt is not None or completion is not None:
            return make_usage(what, input=first(prompt), output=first(completion))
    raise UsageParseError(
        "LlamaIndex response carries no usage" + (f" ({'; '.join(problems)})" if problems else ""),
        expected="a ChatResponse/CompletionResponse whose raw is the provider response with "
        "usage (for a stream, the final chunk; OpenAI chat streams need "
        "stream_options={'include_usage': True}) or additional_kwargs with token counts",
    )
