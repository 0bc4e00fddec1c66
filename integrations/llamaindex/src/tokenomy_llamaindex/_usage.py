"""LlamaIndex objects → tokenomy inputs: usage, model name, provider, estimates.

Usage comes from the provider's own response, which LlamaIndex keeps in ``response.raw``
(an SDK object, a stream chunk, or a dict) and, for llama-index-llms-openai, also copies into
``response.additional_kwargs`` (prompt/completion counts only). Both are read by
:func:`tokenomy.usage.usage_from_llamaindex`; ``raw.usage`` is tried first because reading
that small object is much cheaper than converting the whole response. When the provider
reported nothing (a custom LLM, or an OpenAI stream without
``stream_options={"include_usage": True}``), the tokens are estimated with
:mod:`tokenomy.tokens` and the usage is flagged ``estimated``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tokenomy.exceptions import TokenCountError, UsageParseError
from tokenomy.usage import Usage, parse_usage, usage_from_llamaindex, usage_from_openai_chat

__all__ = [
    "PRICED_TIERS",
    "embedding_usage",
    "estimate_usage",
    "is_mapping",
    "model_of",
    "provider_of",
    "provider_usage",
    "response_text",
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
    if isinstance(obj, Mapping):
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
                return usage_from_openai_chat(usage) if chat else parse_usage(usage)
            except UsageParseError:
                pass
    try:
        return usage_from_llamaindex(response)
    except UsageParseError:
        return None


def is_mapping(obj: Any) -> bool:
    """``isinstance(obj, Mapping)``, remembering the types that are not."""
    cls = type(obj)
    if cls in _NOT_MAPPINGS:
        return False
    if isinstance(obj, Mapping):
        return True
    _NOT_MAPPINGS.add(cls)
    return False


def model_of(response: Any, model_dict: Mapping[str, Any] | None) -> str | None:
    """The model the provider says answered (``raw.model``), else the client's configured one."""
    raw = getattr(response, "raw", None) if response is not None else None
    if raw is not None:
        model = _get(raw, "model")
        if isinstance(model, str) and model:
            return model
    if model_dict:
        for key in ("model_name", "model"):
            model = model_dict.get(key)
            if isinstance(model, str) and model and model != _UNKNOWN:
                return model
    return None


def service_tier_of(response: Any) -> str | None:
    """``"priority"``/``"flex"`` when the provider says it served the call on that tier."""
    raw = getattr(response, "raw", None) if response is not None else None
    if raw is None:
        return None
    tier = _get(raw, "service_tier")
    return tier if isinstance(tier, str) and tier in PRICED_TIERS else None


def truncated_of(response: Any) -> bool:
    """True when the provider says the response was cut by its length limit: OpenAI's
    ``choices[0].finish_reason == "length"``, Anthropic's ``stop_reason == "max_tokens"``
    (read from ``raw``, a dict or an SDK object; cheap reads only)."""
    raw = getattr(response, "raw", None) if response is not None else None
    if raw is None:
        return False
    if _get(raw, "stop_reason") == "max_tokens":
        return True
    choices = _get(raw, "choices")
    if isinstance(choices, (list, tuple)) and choices:
        return bool(_get(choices[0], "finish_reason") == "length")
    return False


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


def response_text(response: Any) -> str:
    """The generated text of a chat or completion response (``""`` when there is none)."""
    if response is None:
        return ""
    message = getattr(response, "message", None)
    if message is not None:
        content = getattr(message, "content", None)
        text: str = content if isinstance(content, str) else ""
        extra = getattr(message, "additional_kwargs", None)
        calls = (extra.get("tool_calls") if isinstance(extra, Mapping) else None) or ()
        for call in calls:
            function = _get(call, "function")
            if function is not None:
                text += str(_get(function, "name") or "") + str(_get(function, "arguments") or "")
        return text
    completion = getattr(response, "text", None)
    return completion if isinstance(completion, str) else ""


def _message_dicts(messages: Sequence[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        role = getattr(m, "role", "user")
        role = getattr(role, "value", role)
        content = getattr(m, "content", None)
        out.append({"role": str(role), "content": content if isinstance(content, str) else ""})
    return out


def estimate_usage(
    *,
    model: str | None,
    messages: Sequence[Any] | None,
    prompt: str | None,
    tools: Any,
    response: Any,
) -> Usage:
    """An ``estimated`` :class:`Usage` from the request and the answer text.

    Chat prompts are counted with :func:`tokenomy.tokens.estimate_messages` (with the tool
    definitions when they are OpenAI-style dicts), completion prompts and answers with
    :func:`tokenomy.tokens.count_text`, in the model's encoding (o200k_base when unknown).
    """
    from tokenomy.tokens import count_text, estimate_messages

    name = model or "gpt-4o"
    prompt_tokens = 0
    try:
        if messages is not None:
            dicts = _message_dicts(messages)
            specs = None
            if isinstance(tools, Sequence) and tools and all(isinstance(t, Mapping) for t in tools):
                specs = list(tools)
            try:
                prompt_tokens = estimate_messages(dicts, name, tools=specs).prompt_tokens
            except TokenCountError:
                prompt_tokens = estimate_messages(dicts, name).prompt_tokens
        elif prompt:
            prompt_tokens = count_text(prompt, name)
        output = count_text(response_text(response), name)
    except TokenCountError:
        return Usage(estimated=True)
    return Usage(input=prompt_tokens, output=output, estimated=True)


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
