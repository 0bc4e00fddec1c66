"""LangChain objects ↔ the core's :class:`tokenomy.ModelRequest` / :class:`tokenomy.ModelResponse`.

Shared by :class:`~tokenomy_langchain.TokenomyChatModel` and
:class:`~tokenomy_langchain.TokenomyMiddleware`: messages become OpenAI-shape dicts (and back
only when a policy changed them), call keyword arguments become ``params`` (and a policy's
changes go back as keyword arguments), and an ``AIMessage`` (or a stream of
``AIMessageChunk``) is read the way the callback handler reads a run's result
(:func:`tokenomy_langchain._read.read_result`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    convert_to_messages,
    convert_to_openai_messages,
)
from langchain_core.outputs import ChatGeneration, LLMResult

from tokenomy import GENERATION_PARAMS, CacheInfo, ModelRequest, ModelResponse, StreamChunk
from tokenomy.usage import usage_from_langchain
from tokenomy_langchain._read import cache_kind, read_result

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from langchain_core.language_models import BaseChatModel

__all__ = [
    "PARAM_KEYS",
    "call_kwargs",
    "chunk_of",
    "finish_reason_of",
    "message_of",
    "model_info",
    "native_messages",
    "params_of",
    "response_of",
    "stream_response",
    "to_dicts",
]

#: Call keyword arguments that are generation parameters (``params`` of the request).
PARAM_KEYS = GENERATION_PARAMS


def to_dicts(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as OpenAI chat dicts (tool calls and tool results included)."""
    return list(convert_to_openai_messages(list(messages)))


def native_messages(
    request: ModelRequest, final: ModelRequest, native: Sequence[BaseMessage]
) -> list[BaseMessage]:
    """What to send: the caller's own messages, unless a policy replaced them."""
    if final.messages is request.messages:
        return list(native)
    return convert_to_messages(list(final.messages))


def _openai_tool(tool: Any) -> Any:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    try:
        return convert_to_openai_tool(tool)
    except Exception:  # a provider-native tool (web search...): kept as it is
        return tool


def params_of(kwargs: Mapping[str, Any], model: BaseChatModel | None) -> dict[str, Any]:
    """The generation parameters a call sets: its keyword arguments (tools as OpenAI function
    dicts), else what the wrapped model was configured with (``max_tokens``; a value equal to
    the model profile's own default, which ChatAnthropic fills in, counts as not set)."""
    params: dict[str, Any] = {}
    for key in PARAM_KEYS:
        value = kwargs.get(key)
        if value is not None:
            params[key] = value
    if "max_tokens" not in params and kwargs.get("max_completion_tokens") is not None:
        params["max_tokens"] = kwargs["max_completion_tokens"]
    if "tools" in params and isinstance(params["tools"], list):
        params["tools"] = [_openai_tool(t) for t in params["tools"]]
    if model is not None and "max_tokens" not in params:
        configured = _configured_max_tokens(model)
        if configured is not None:
            params["max_tokens"] = configured
    return params


def _configured_max_tokens(model: BaseChatModel) -> int | None:
    value = getattr(model, "max_tokens", None)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    if "max_tokens" not in model.model_fields_set:
        return None
    profile = getattr(model, "profile", None) or {}
    if isinstance(profile, Mapping) and profile.get("max_output_tokens") == value:
        return None  # the model's own default, filled in by its validator
    return value


def call_kwargs(
    kwargs: Mapping[str, Any], request: ModelRequest, final: ModelRequest
) -> dict[str, Any]:
    """The keyword arguments to call the wrapped model with: the caller's, with the params a
    policy changed (set, replaced or removed) applied under the same names, and ``model``
    when a policy switched models."""
    out = dict(kwargs)
    if final.model and final.model != request.model:
        out["model"] = final.model  # a policy switched models (a budget's downgrade)
    if final.params is request.params or final.params == request.params:
        return out
    for key in set(request.params) | set(final.params):
        before, after = request.params.get(key), final.params.get(key)
        if before == after:
            continue
        if after is None:
            out.pop(key, None)
        else:
            out[key] = after
        if key == "max_tokens":
            out.pop("max_completion_tokens", None)
    return out


def model_info(model: BaseChatModel, kwargs: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(model name, provider)`` the wrapped model says it calls (its LangSmith params)."""
    try:
        ls = model._get_ls_params(**kwargs)
    except Exception:
        return None, None
    name, provider = ls.get("ls_model_name"), ls.get("ls_provider")
    return (
        name if isinstance(name, str) and name else None,
        provider if isinstance(provider, str) and provider else None,
    )


def finish_reason_of(metadata: Mapping[str, Any] | None) -> str | None:
    """The finish reason in a message's ``response_metadata`` (OpenAI chat ``finish_reason``,
    Anthropic ``stop_reason``, Responses ``incomplete_details.reason``)."""
    if not metadata:
        return None
    for key in ("finish_reason", "stop_reason"):
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value
    details = metadata.get("incomplete_details")
    if isinstance(details, Mapping) and isinstance(details.get("reason"), str):
        return str(details["reason"])
    status = metadata.get("status")
    return status if status == "completed" else None


def response_of(message: AIMessage, *, provider: str | None, streamed: bool = False) -> ModelResponse:
    """A complete :class:`ModelResponse` for the wrapped model's ``AIMessage``."""
    response = ModelResponse(native=message, provider=provider, streamed=streamed)
    _fill(response, message, provider)
    return response


def _fill(response: ModelResponse, message: AIMessage, provider: str | None) -> None:
    info = read_result(LLMResult(generations=[[ChatGeneration(message=message)]]))
    response.message = to_dicts([message])[0]
    response.usage = info.usage
    response.model = info.model or response.model
    response.provider = info.provider or provider
    response.service_tier = info.service_tier
    response.finish_reason = finish_reason_of(message.response_metadata) or response.finish_reason
    if info.cache_hit:
        # the wrapped model answered from LangChain's LLM cache: $0 spent, and what the
        # cached call used is what the hit saved
        response.cache = CacheInfo(outcome=cache_kind())  # type: ignore[arg-type]


def chunk_of(chunk: AIMessageChunk) -> StreamChunk:
    """One streamed ``AIMessageChunk`` as a :class:`StreamChunk` (``native`` = the chunk)."""
    meta = chunk.usage_metadata
    rmeta = chunk.response_metadata
    model = rmeta.get("model_name") or rmeta.get("model") if rmeta else None
    return StreamChunk(
        text=chunk.text,
        tool_call_chunks=[
            {
                "index": tc.get("index"),
                "id": tc.get("id"),
                "name": tc.get("name"),
                "arguments": tc.get("args"),
            }
            for tc in chunk.tool_call_chunks
        ],
        usage=usage_from_langchain(meta) if meta else None,
        finish_reason=finish_reason_of(rmeta),
        model=model if isinstance(model, str) else None,
        native=chunk,
    )


class _Aggregate:
    """The chunks of one stream added up the way LangChain adds them."""

    __slots__ = ("message",)

    def __init__(self) -> None:
        self.message: AIMessageChunk | None = None

    def add(self, chunk: AIMessageChunk) -> StreamChunk:
        self.message = chunk if self.message is None else self.message + chunk
        return chunk_of(chunk)

    def finalize(self, response: ModelResponse) -> None:
        if self.message is not None:
            _fill(response, self.message, response.provider)


def stream_response(
    chunks: Iterable[AIMessageChunk] | AsyncIterator[AIMessageChunk], *, provider: str | None
) -> ModelResponse:
    """A streaming :class:`ModelResponse` over the wrapped model's chunks; when the stream
    ends its usage, model and message are read from LangChain's own aggregate."""
    agg = _Aggregate()
    if isinstance(chunks, Iterable):

        def sync() -> Iterator[StreamChunk]:
            for chunk in chunks:
                yield agg.add(chunk)

        return ModelResponse.streaming(sync(), finalize=agg.finalize, provider=provider)

    async def asynchronous() -> AsyncIterator[StreamChunk]:
        async for chunk in chunks:
            yield agg.add(chunk)

    return ModelResponse.streaming(asynchronous(), finalize=agg.finalize, provider=provider)


def message_of(response: ModelResponse) -> AIMessage:
    """The ``AIMessage`` to hand back: the wrapped model's own, else one built from the
    response's message (an answer a policy gave)."""
    native = response.native
    if isinstance(native, AIMessage):
        return native
    (message,) = convert_to_messages([dict(response.message)])
    if not isinstance(message, AIMessage):
        message = AIMessage(content=response.text)
    return message
