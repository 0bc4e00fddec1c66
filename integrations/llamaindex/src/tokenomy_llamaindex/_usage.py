"""LlamaIndex objects → tokenomy inputs: usage, model name, provider, estimates.

Usage comes from the provider's own response, which LlamaIndex keeps in ``response.raw``
(an SDK object, a stream chunk, or a dict) and, for llama-index-llms-openai, also copies into
``response.additional_kwargs`` (prompt/completion counts only). Both are read by
:func:`tokenomy.usage.usage_from_llamaindex`; ``raw.usage`` is tried first because reading
that small object is much cheaper than converting the whole response. When the provider
reported nothing (a custom LLM, or an OpenAI stream without
``stream_options={"include_usage": True}``), the messages are converted to provider-neutral
OpenAI chat dicts (:func:`message_dict`), the tokens estimated by
:func:`tokenomy.tokens.estimate_call` and the usage flagged ``estimated``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from tokenomy.exceptions import TokenCountError, UsageParseError
from tokenomy.usage import (
    Usage,
    parse_usage,
    usage_extra,
    usage_from_llamaindex,
    usage_from_openai_chat,
)

__all__ = [
    "PRICED_TIERS",
    "RawFacts",
    "configured_model",
    "embedding_usage",
    "estimate_usage",
    "is_mapping",
    "message_dict",
    "model_of",
    "normalised_request",
    "output_message",
    "provider_of",
    "provider_usage",
    "raw_facts",
    "service_tier_of",
    "truncated_of",
]

_UNKNOWN = "unknown"
# Tiers priced differently from the default one (see PriceBook.price).
PRICED_TIERS = frozenset({"priority", "flex"})
# Embedding clients that replace newlines with spaces before sending the text
# (llama_index.embeddings.openai.base.get_embedding(s)); their token counts follow suit.
_NEWLINES_TO_SPACES = frozenset({"OpenAIEmbedding", "AzureOpenAIEmbedding"})
# class_name() of an LLM or embedding client -> provider label (first match wins).
_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("azure", "azure"),
    ("openai", "openai"),
    ("anthropic", "anthropic"),
    ("bedrock", "bedrock"),
    ("vertex", "vertex_ai"),
    ("gemini", "gemini"),
    ("google", "gemini"),
    ("mistral", "mistral"),
    ("groq", "groq"),
)

_PROVIDER_OF: dict[str, str | None] = {}
# types seen not to be Mappings (isinstance against the ABC costs ~0.2 µs)
_NOT_MAPPINGS: set[type] = set()


def _get(obj: Any, key: str) -> Any:
    # raw is usually a dict or an SDK object: no ABC isinstance check for either (they cost
    # about 1 µs each inside a call, and a response's facts take four reads)
    if type(obj) is dict or is_mapping(obj):
        return obj.get(key)
    return getattr(obj, key, None)


def provider_usage(response: Any) -> Usage | None:
    """The usage the provider reported in a ``ChatResponse``/``CompletionResponse``, or None.

    ``raw.usage`` is read first: an OpenAI chat-completions usage (``prompt_tokens``) goes
    straight to its parser, whose fast path reads plain ints directly (converting and sniffing
    the whole response costs more than the rest of the record). Anything else goes through
    ``usage_from_llamaindex``.
    """
    if response is None:
        return None
    raw = getattr(response, "raw", None)
    if raw is not None:
        usage = raw.get("usage") if isinstance(raw, Mapping) else getattr(raw, "usage", None)
        if usage is not None:
            chat = (
                "prompt_tokens" in usage
                if isinstance(usage, Mapping)
                else hasattr(usage, "prompt_tokens")
            )
            try:
                if chat:
                    return usage_from_openai_chat(usage)
                return _with_tool_calls(parse_usage(usage), raw)
            except UsageParseError:
                pass
    try:
        return usage_from_llamaindex(response)
    except UsageParseError:
        return None


def _with_tool_calls(usage: Usage, raw: Any) -> Usage:
    """``usage`` plus the built-in tool calls billed per call that an OpenAI Responses
    ``raw`` lists in its ``output`` (``web_search_call``, ``image_generation_call``)."""
    output = _get(raw, "output")
    if not isinstance(output, list) or not output:
        return usage
    extra = usage_extra({"output": output})
    if extra is None:
        return usage
    return usage.with_extra(extra if usage.extra is None else usage.extra + extra)


def is_mapping(obj: Any) -> bool:
    """``isinstance(obj, Mapping)``, remembering the types that are not."""
    cls = type(obj)
    if cls in _NOT_MAPPINGS:
        return False
    if isinstance(obj, Mapping):
        return True
    _NOT_MAPPINGS.add(cls)
    return False


class RawFacts(NamedTuple):
    """What a raw provider response says about the call besides its usage."""

    model: str | None  #: the model that answered (``raw.model``)
    service_tier: str | None  #: ``"priority"``/``"flex"`` when served on that priced tier
    truncated: bool  #: cut by the length limit


_NO_FACTS = RawFacts(None, None, False)
_new_facts = tuple.__new__


def raw_facts(raw: Any) -> RawFacts:
    """The :class:`RawFacts` of ``raw`` (a dict, a Mapping or an SDK object; ``None``), in
    one pass: ``model``; ``service_tier`` when it is one priced differently; ``truncated``
    for OpenAI's ``choices[0].finish_reason == "length"`` or Anthropic's ``stop_reason ==
    "max_tokens"`` (cheap reads only)."""
    if raw is None:
        return _NO_FACTS
    if type(raw) is dict or is_mapping(raw):
        model, tier, choices = raw.get("model"), raw.get("service_tier"), raw.get("choices")
        stop = None if choices else raw.get("stop_reason")
    else:
        model = getattr(raw, "model", None)
        tier = getattr(raw, "service_tier", None)
        choices = getattr(raw, "choices", None)
        stop = None if choices else getattr(raw, "stop_reason", None)
    if type(choices) is list or type(choices) is tuple:
        truncated = bool(choices) and _get(choices[0], "finish_reason") == "length"
    else:
        truncated = stop == "max_tokens"
    return _new_facts(  # RawFacts built in C (its generated __new__ is a Python call)
        RawFacts,
        (
            model if isinstance(model, str) and model else None,
            tier if isinstance(tier, str) and tier in PRICED_TIERS else None,
            truncated,
        ),
    )


def configured_model(model_dict: Mapping[str, Any] | None) -> str | None:
    """The model the client was configured with (``model_name``/``model`` of its dict)."""
    if model_dict:
        for key in ("model_name", "model"):
            model = model_dict.get(key)
            if isinstance(model, str) and model and model != _UNKNOWN:
                return model
    return None


def model_of(response: Any, model_dict: Mapping[str, Any] | None) -> str | None:
    """The model the provider says answered (``raw.model``), else the client's configured one."""
    raw = getattr(response, "raw", None) if response is not None else None
    return raw_facts(raw).model or configured_model(model_dict)


def service_tier_of(response: Any) -> str | None:
    """``"priority"``/``"flex"`` when the provider says it served the call on that tier."""
    return raw_facts(getattr(response, "raw", None) if response is not None else None).service_tier


def truncated_of(response: Any) -> bool:
    """True when the provider says the response was cut by its length limit (see
    :func:`raw_facts`)."""
    return raw_facts(getattr(response, "raw", None) if response is not None else None).truncated


def provider_of(model_dict: Mapping[str, Any] | None) -> str | None:
    """A provider label from the client's ``class_name`` (``"openai_llm"`` → ``"openai"``)."""
    if not model_dict:
        return None
    name = model_dict.get("class_name")
    if not isinstance(name, str):
        return None
    if name in _PROVIDER_OF:
        return _PROVIDER_OF[name]
    lowered = name.lower()
    found = next((provider for needle, provider in _PROVIDERS if needle in lowered), None)
    _PROVIDER_OF[name] = found
    return found


def output_message(response: Any) -> dict[str, Any] | str:
    """What a chat or completion response generated: the assistant message as an OpenAI chat
    dict (with its tool calls), or the completion text (``""`` when there is none)."""
    if response is None:
        return ""
    message = getattr(response, "message", None)
    if message is not None:
        return message_dict(message)
    completion = getattr(response, "text", None)
    return completion if isinstance(completion, str) else ""


def message_dict(message: Any) -> dict[str, Any]:
    """A LlamaIndex ``ChatMessage`` as a provider-neutral OpenAI chat dict.

    ``role``, the text ``content``, the ``tool_calls`` (``ToolCallBlock`` blocks, else
    ``additional_kwargs["tool_calls"]``, the order llama-index-llms-openai reads them in) and
    a tool result's ``tool_call_id``.
    """
    role = getattr(message, "role", "user")
    role = getattr(role, "value", role)
    content = getattr(message, "content", None)
    out: dict[str, Any] = {
        "role": str(role),
        "content": content if isinstance(content, str) else "",
    }
    calls = [
        _block_call(block)
        for block in getattr(message, "blocks", None) or ()
        if getattr(block, "block_type", None) == "tool_call"
    ]
    extra = getattr(message, "additional_kwargs", None)
    if isinstance(extra, Mapping):
        if not calls:
            calls = [_openai_call(call) for call in extra.get("tool_calls") or ()]
        call_id = extra.get("tool_call_id") or extra.get("call_id")
        if call_id:
            out["tool_call_id"] = str(call_id)
    if calls:
        out["tool_calls"] = calls
    return out


def _block_call(block: Any) -> dict[str, Any]:
    return {
        "id": getattr(block, "tool_call_id", None) or "",
        "type": "function",
        "function": {
            "name": str(getattr(block, "tool_name", "") or ""),
            "arguments": getattr(block, "tool_kwargs", None) or {},
        },
    }


def _openai_call(call: Any) -> dict[str, Any]:
    function = _get(call, "function")
    return {
        "id": str(_get(call, "id") or ""),
        "type": "function",
        "function": {
            "name": "" if function is None else str(_get(function, "name") or ""),
            "arguments": "" if function is None else (_get(function, "arguments") or ""),
        },
    }


def estimate_usage(
    *,
    model: str | None,
    provider: str | None,
    messages: Sequence[Any] | None,
    prompt: str | None,
    tools: Any,
    response: Any,
) -> Usage:
    """An ``estimated`` :class:`Usage` from the request and the answer:
    :func:`tokenomy.tokens.estimate_call` of the messages as OpenAI chat dicts (or of the
    completion prompt), with Anthropic's rules for an Anthropic LLM.

    Tool definitions count when they are dicts (OpenAI's function shape or Anthropic's).
    """
    from tokenomy.tokens import estimate_call

    request: list[dict[str, Any]] | str | None = None
    if messages is not None:
        request = [message_dict(m) for m in messages]
    elif prompt:
        request = prompt
    specs = None
    if isinstance(tools, Sequence) and tools and all(isinstance(t, Mapping) for t in tools):
        specs = list(tools)
    return estimate_call(
        request, output_message(response), model=model, provider=provider, tools=specs
    )


def normalised_request(messages: Sequence[Any] | None, prompt: str | None, tools: Any) -> Any:
    """The call's request in the core's normalised shape (a
    :class:`tokenomy.NormalisedRequest`), for the record's request hashes; tool definitions
    that are not dicts are left out."""
    from tokenomy import NormalisedRequest

    specs = None
    if isinstance(tools, Sequence) and tools and all(isinstance(t, Mapping) for t in tools):
        specs = list(tools)
    if messages is not None:
        return NormalisedRequest([message_dict(m) for m in messages], specs)
    return NormalisedRequest(prompt or "", specs)


def embedding_usage(chunks: Sequence[str], model_dict: Mapping[str, Any] | None) -> Usage:
    """Tokens embedded: every chunk counted in the model's encoding (flagged ``estimated``).

    ``EmbeddingEndEvent`` carries the texts, not the provider's usage, so the count is local:
    cl100k_base for OpenAI's ``text-embedding-*`` models (the encoding OpenAI counts in), with
    newlines replaced by spaces for the clients that send them so.
    """
    from tokenomy.tokens import count_text

    model = model_of(None, model_dict) or "text-embedding-3-small"
    spaced = model_dict is not None and model_dict.get("class_name") in _NEWLINES_TO_SPACES
    total = 0
    try:
        for chunk in chunks:
            text = chunk.replace("\n", " ") if spaced else chunk
            total += count_text(text, model)
    except TokenCountError:
        return Usage(estimated=True)
    return Usage(input=total, estimated=True)
