"""``TokenomyLLM``: a LlamaIndex LLM that runs every call of another through tokenomy's pipeline.

Each method (``chat``, ``complete``, their ``stream_``/``a``/``astream_`` forms) translates
the call into a :class:`tokenomy.ModelRequest`, runs it through the policies
(:class:`tokenomy.Pipeline`), and the pipeline's sender calls the *wrapped* LLM's same method
with the final request: the caller's own ``ChatMessage`` objects when no policy changed the
messages, and any parameter a policy changed (``max_tokens``...) as a call keyword. The
pipeline records each provider call (usage, model, service tier read from the response's
``raw`` by the handlers' readers; the finish reason, so a cut answer is flagged truncated).

Instrumentation (a deliberate choice): the wrapper adds none of its own. Its call methods open
no LlamaIndex span (``DispatcherSpanMixin`` would wrap them; they are marked as already
wrapped, which ``dispatcher.span`` honours) and fire no ``LLMChat*``/``LLMCompletion*`` events
or legacy callbacks: the wrapped LLM fires its own, once per provider call, directly under
the caller's span, so other observability handlers see the same tree and each real call
exactly once, with or without the wrapper; and no span costs ~40 µs per call. tokenomy's own
handlers skip those events (they start while :func:`tokenomy.in_pipeline_call` is true: the
pipeline records them) and the calls that enclose them (a ``StructuredLLM`` around it).

Run ids: a fresh run per call, its parent the span the call was made in (the agent step, the
query engine's synthesizer...) and its root that span's root, as the handlers record; a call
made outside any span hangs under the innermost ``track()`` block.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.instrumentation.span import active_span_id
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import LLM, ToolSelection
from pydantic import Field, PrivateAttr, SerializeAsAny

from tokenomy import (
    GENERATION_PARAMS,
    ModelRequest,
    ModelResponse,
    Pipeline,
    Policy,
    RunInfo,
    StreamChunk,
)
from tokenomy.exceptions import ConfigurationError
from tokenomy_llamaindex._spans import TREE
from tokenomy_llamaindex._translate import (
    chat_message_of,
    finish_reason_of,
    message_dicts,
    native_messages,
    response_message,
)
from tokenomy_llamaindex._usage import model_of, provider_of, provider_usage, service_tier_of

__all__ = ["TokenomyLLM"]

FRAMEWORK = "llamaindex"
_MISSING: Any = object()
_NO_RUN = RunInfo()
# call keywords the pipeline sees as params (provider-neutral names; the rest pass untouched)
_PARAMS = frozenset(GENERATION_PARAMS)
_Response = ChatResponse | CompletionResponse
_F = TypeVar("_F", bound=Callable[..., Any])


def _unspanned(method: _F) -> _F:
    """Keep ``DispatcherSpanMixin`` from opening a span around ``method`` (``dispatcher.span``
    returns a function carrying this marker unchanged)."""
    setattr(method, "__dispatcher_span_decorated__", True)  # noqa: B010
    return method


class TokenomyLLM(FunctionCallingLLM):
    """Wrap ``llm`` so that every call goes through ``policies`` and is recorded.

    ``TokenomyLLM(OpenAI(model="gpt-4o-mini"), policies=[tokenomy.MaxTokens(default=400)])``
    drops in wherever the wrapped LLM was used (``Settings.llm``, query and chat engines,
    agents, ``predict_and_call``, ``structured_predict``, ``as_structured_llm``).
    ``ledger``/``price_book``: where the records go and how they are priced (they win over an
    enclosing ``track()`` block's); ``tags``: attribution for every call.
    """

    llm: SerializeAsAny[LLM] = Field(description="The wrapped LLM: it makes the provider calls.")
    _pipeline: Pipeline = PrivateAttr()
    _provider: str | None = PrivateAttr(default=None)
    _name: str = PrivateAttr(default="LLM")

    def __init__(
        self,
        llm: LLM,
        policies: Sequence[Policy] = (),
        *,
        ledger: Any = None,
        price_book: Any = None,
        tags: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(llm, LLM):
            raise ConfigurationError(
                f"TokenomyLLM wraps a LlamaIndex LLM (llama_index.core.llms.LLM), got "
                f"{type(llm).__name__}: pass e.g. llama_index.llms.openai.OpenAI(...)"
            )
        # the prompt helpers LLM.predict applies are the wrapped LLM's, so a query engine's
        # prompts reach the provider as they would without the wrapper
        fields: dict[str, Any] = {
            "callback_manager": llm.callback_manager,
            "system_prompt": llm.system_prompt,
            "messages_to_prompt": llm.messages_to_prompt,
            "completion_to_prompt": llm.completion_to_prompt,
            "output_parser": llm.output_parser,
            "pydantic_program_mode": llm.pydantic_program_mode,
            "query_wrapper_prompt": llm.query_wrapper_prompt,
        }
        fields.update(kwargs)
        policies = list(policies)
        if type(self)._target is not TokenomyLLM._target:
            from tokenomy import warn_hidden_retries

            # a subclass that picks among several LLMs (a cascade's tiers) takes their
            # retries over itself (take_over_sdk_retries_all); warn once if one still retries
            warn_hidden_retries(llm, policies)
        else:
            from tokenomy import take_over_sdk_retries

            # the wrapped client's own retries would reach no ledger: a copy of the LLM whose
            # SDK clients do not retry, and Retry.like_sdk() unless a Retry is in the policies
            # (with no policies too: each attempt is then a record, not one call for three)
            llm, policies = take_over_sdk_retries(llm, policies)
        super().__init__(llm=llm, **fields)
        self._pipeline = Pipeline(policies, ledger=ledger, price_book=price_book, tags=tags)
        self._provider = provider_of({"class_name": llm.class_name()})
        self._name = type(llm).__name__

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "TokenomyLLM"

    @property
    def pipeline(self) -> Pipeline:
        """The pipeline every call runs through (its policies, ledger, price book, tags)."""
        return self._pipeline

    @property
    def metadata(self) -> LLMMetadata:
        """The wrapped LLM's metadata (context window, chat / function calling model...)."""
        return self.llm.metadata

    # -- the request ---------------------------------------------------------------------

    def _model(self) -> str | None:
        llm = self.llm
        if "model" in type(llm).model_fields:  # the usual field, read as it is now
            model = llm.model  # type: ignore[attr-defined]
            if isinstance(model, str) and model:
                return model
        name = llm.metadata.model_name
        return name if name and name != "unknown" else None

    def _params(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        params = {k: v for k, v in kwargs.items() if k in _PARAMS and v is not None}
        tools = params.get("tools")
        if isinstance(tools, list):
            params["tools"] = [_openai_tool(t) for t in tools]
        if "max_tokens" not in params:
            if kwargs.get("max_completion_tokens") is not None:
                params["max_tokens"] = kwargs["max_completion_tokens"]
            else:
                own = _own_max_tokens(self.llm)
                if own is not None:
                    params["max_tokens"] = own
        return params

    def _request(
        self,
        method: str,
        *,
        messages: Sequence[ChatMessage] | None = None,
        prompt: str | None = None,
        kwargs: Mapping[str, Any],
        stream: bool,
    ) -> ModelRequest:
        span_id = active_span_id.get()
        if span_id is None:
            run = _NO_RUN
        else:
            _, root = TREE.place(span_id)
            run = RunInfo(parent_run_id=span_id, root_run_id=root)
        return ModelRequest(
            model=self._model(),
            messages=() if messages is None else message_dicts(messages),
            prompt=prompt,
            params=self._params(kwargs),
            provider=self._provider,
            kind="chat" if messages is not None else "completion",
            stream=stream,
            run=run,
            name=f"{self._name}.{method}",
            framework=FRAMEWORK,
            native=messages if messages is not None else prompt,
        )

    def _target(
        self, request: ModelRequest, final: ModelRequest, kwargs: Mapping[str, Any]
    ) -> tuple[LLM, dict[str, Any]]:
        """The LLM to call and its keywords: the caller's, plus what the policies changed."""
        out = dict(kwargs)
        original, params = request.params, final.params
        llm = self.llm
        if params is not original:
            for key, value in params.items():
                if original.get(key, _MISSING) is not value:
                    out[key] = value
            for key in original:
                if key not in params:
                    out.pop(key, None)
            limit = params.get("max_tokens")
            if limit is not None and limit != original.get("max_tokens"):
                out.pop("max_completion_tokens", None)
                own = getattr(llm, "max_tokens", None)
                if own is not None and own != limit:
                    # llama-index-llms-openai lets its own max_tokens win over a call keyword
                    llm = llm.model_copy(update={"max_tokens": limit})
        if final.model and final.model != request.model:
            out["model"] = final.model
        return llm, out

    # -- the response ---------------------------------------------------------------------

    def _response(self, native: _Response) -> ModelResponse:
        return ModelResponse(
            message=response_message(native),
            usage=provider_usage(native),
            finish_reason=finish_reason_of(native),
            model=model_of(native, None),
            provider=self._provider,
            service_tier=service_tier_of(native),
            raw=native.raw,
            native=native,
        )

    def _streaming(self, chunks: Iterator[StreamChunk] | AsyncIterator[StreamChunk],
                   state: _Last) -> ModelResponse:
        return ModelResponse.streaming(chunks, finalize=state.finalize, provider=self._provider)

    @staticmethod
    def _chat_of(response: ModelResponse) -> ChatResponse:
        native = response.native
        if isinstance(native, ChatResponse):
            return native
        return ChatResponse(message=chat_message_of(response.message), raw=response.raw)

    @staticmethod
    def _completion_of(response: ModelResponse) -> CompletionResponse:
        native = response.native
        if isinstance(native, CompletionResponse):
            return native
        return CompletionResponse(text=response.text, raw=response.raw)

    # -- chat ---------------------------------------------------------------------------

    @_unspanned
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Chat through the pipeline."""
        request = self._request("chat", messages=messages, kwargs=kwargs, stream=False)

        def send(final: ModelRequest) -> ModelResponse:
            llm, kw = self._target(request, final, kwargs)
            sent = native_messages(request.messages, final.messages, messages)
            return self._response(llm.chat(sent, **kw))

        return self._chat_of(self._pipeline.call(request, send))

    @_unspanned
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Chat through the pipeline, asynchronously."""
        request = self._request("achat", messages=messages, kwargs=kwargs, stream=False)

        async def send(final: ModelRequest) -> ModelResponse:
            llm, kw = self._target(request, final, kwargs)
            sent = native_messages(request.messages, final.messages, messages)
            return self._response(await llm.achat(sent, **kw))

        return self._chat_of(await self._pipeline.acall(request, send))

    @_unspanned
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream a chat through the pipeline: the wrapped LLM's pieces, as they arrive."""
        request = self._request("stream_chat", messages=messages, kwargs=kwargs, stream=True)

        def send(final: ModelRequest) -> ModelResponse:
            llm, kw = self._target(request, final, kwargs)
            sent = native_messages(request.messages, final.messages, messages)
            state = _Last()
            return self._streaming(state.pieces(llm.stream_chat(sent, **kw)), state)

        return _chat_pieces(self._pipeline.call(request, send))

    @_unspanned
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Stream a chat through the pipeline, asynchronously."""
        request = self._request("astream_chat", messages=messages, kwargs=kwargs, stream=True)

        async def send(final: ModelRequest) -> ModelResponse:
            llm, kw = self._target(request, final, kwargs)
            sent = native_messages(request.messages, final.messages, messages)
            state = _Last()
            return self._streaming(state.apieces(await llm.astream_chat(sent, **kw)), state)

        return _achat_pieces(await self._pipeline.acall(request, send))

    # -- complete -------------------------------------------------------------------------

    @_unspanned
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Complete through the pipeline."""
        request = self._request("complete", prompt=prompt, kwargs=kwargs, stream=False)

        def send(final: ModelRequest) -> ModelResponse:
            llm, kw = self._target(request, final, kwargs)
            text = prompt if final.prompt is None else final.prompt
            return self._response(llm.complete(text, formatted=formatted, **kw))

        return self._completion_of(self._pipeline.call(request, send))

    @_unspanned
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Complete through the pipeline, asynchronously."""
        request = self._request("acomplete", prompt=prompt, kwargs=kwargs, stream=False)

        async def send(final: ModelRequest) -> ModelResponse:
            llm, kw = self._target(request, final, kwargs)
            text = prompt if final.prompt is None else final.prompt
            return self._response(await llm.acomplete(text, formatted=formatted, **kw))

        return self._completion_of(await self._pipeline.acall(request, send))

    @_unspanned
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream a completion through the pipeline."""
        request = self._request("stream_complete", prompt=prompt, kwargs=kwargs, stream=True)

        def send(final: ModelRequest) -> ModelResponse:
            llm, kw = self._target(request, final, kwargs)
            text = prompt if final.prompt is None else final.prompt
            state = _Last()
            return self._streaming(
                state.pieces(llm.stream_complete(text, formatted=formatted, **kw)), state
            )

        return _completion_pieces(self._pipeline.call(request, send))

    @_unspanned
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Stream a completion through the pipeline, asynchronously."""
        request = self._request("astream_complete", prompt=prompt, kwargs=kwargs, stream=True)

        async def send(final: ModelRequest) -> ModelResponse:
            llm, kw = self._target(request, final, kwargs)
            text = prompt if final.prompt is None else final.prompt
            state = _Last()
            pieces = await llm.astream_complete(text, formatted=formatted, **kw)
            return self._streaming(state.apieces(pieces), state)

        return _acompletion_pieces(await self._pipeline.acall(request, send))

    # -- tool calling: the wrapped LLM's own format --------------------------------------

    def _function_calling(self) -> FunctionCallingLLM:
        llm = self.llm
        if not isinstance(llm, FunctionCallingLLM):
            raise ConfigurationError(
                f"{type(llm).__name__} is not a function-calling LLM, so TokenomyLLM cannot "
                "call tools with it: use a FunctionCallingLLM (OpenAI, Anthropic...) or a "
                "ReActAgent, which works with any LLM"
            )
        return llm

    @_unspanned
    def _prepare_chat_with_tools(
        self,
        tools: Sequence[Any],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The wrapped LLM's tool-call request (its tool format, tool choice)."""
        return self._function_calling()._prepare_chat_with_tools_compat(
            tools,
            user_msg=user_msg,
            chat_history=chat_history,
            verbose=verbose,
            allow_parallel_tool_calls=allow_parallel_tool_calls,
            tool_required=tool_required,
            **kwargs,
        )

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[Any],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """The wrapped LLM's check of a tool-call response."""
        return self._function_calling()._validate_chat_with_tools_response(
            response, tools, allow_parallel_tool_calls=allow_parallel_tool_calls, **kwargs
        )

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """The tool calls in a response, read the wrapped LLM's way."""
        return self._function_calling().get_tool_calls_from_response(
            response, error_on_no_tool_call=error_on_no_tool_call, **kwargs
        )


class _Last:
    """A stream's pieces as StreamChunks, and its end read from the last piece (LlamaIndex
    pieces carry the message so far; the provider's usage comes with the last one)."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: _Response | None = None

    def _chunk(self, piece: _Response) -> StreamChunk:
        self.last = piece
        return StreamChunk(text=piece.delta or "", finish_reason=finish_reason_of(piece),
                           native=piece)

    def pieces(self, source: Iterator[_Response]) -> Iterator[StreamChunk]:
        for piece in source:
            yield self._chunk(piece)

    async def apieces(self, source: AsyncIterator[_Response]) -> AsyncIterator[StreamChunk]:
        async for piece in source:
            yield self._chunk(piece)

    def finalize(self, response: ModelResponse) -> None:
        last = self.last
        if last is None:
            return
        usage = provider_usage(last)
        if usage is not None:
            response.usage = usage
        response.model = model_of(last, None) or response.model
        response.service_tier = service_tier_of(last)
        response.message = response_message(last)
        response.raw = last.raw
        response.native = last


def _chat_pieces(response: ModelResponse) -> ChatResponseGen:
    if not response.is_stream:  # a policy answered a streamed call at once
        yield TokenomyLLM._chat_of(response)
        return
    text = ""
    for chunk in response:
        if isinstance(chunk.native, ChatResponse):
            yield chunk.native
        else:  # a replayed stream
            text += chunk.text
            message = ChatMessage(role=MessageRole.ASSISTANT, content=text)
            yield ChatResponse(message=message, delta=chunk.text)


async def _achat_pieces(response: ModelResponse) -> ChatResponseAsyncGen:
    if not response.is_stream:
        yield TokenomyLLM._chat_of(response)
        return
    text = ""
    async for chunk in response:
        if isinstance(chunk.native, ChatResponse):
            yield chunk.native
        else:
            text += chunk.text
            message = ChatMessage(role=MessageRole.ASSISTANT, content=text)
            yield ChatResponse(message=message, delta=chunk.text)


def _completion_pieces(response: ModelResponse) -> CompletionResponseGen:
    if not response.is_stream:
        yield TokenomyLLM._completion_of(response)
        return
    text = ""
    for chunk in response:
        if isinstance(chunk.native, CompletionResponse):
            yield chunk.native
        else:
            text += chunk.text
            yield CompletionResponse(text=text, delta=chunk.text)


async def _acompletion_pieces(response: ModelResponse) -> CompletionResponseAsyncGen:
    if not response.is_stream:
        yield TokenomyLLM._completion_of(response)
        return
    text = ""
    async for chunk in response:
        if isinstance(chunk.native, CompletionResponse):
            yield chunk.native
        else:
            text += chunk.text
            yield CompletionResponse(text=text, delta=chunk.text)


def _openai_tool(tool: Any) -> Any:
    """An Anthropic-shape tool (``name``, ``input_schema``) as an OpenAI function tool."""
    if isinstance(tool, Mapping) and "input_schema" in tool and "function" not in tool:
        return {
            "type": "function",
            "function": {
                "name": tool.get("name"),
                "description": tool.get("description"),
                "parameters": tool.get("input_schema"),
            },
        }
    return tool


def _own_max_tokens(llm: LLM) -> int | None:
    """The wrapped LLM's own ``max_tokens`` when it was set to other than its class default
    (Anthropic's always-present default is the model's default, not the caller's limit)."""
    value = getattr(llm, "max_tokens", None)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    field = type(llm).model_fields.get("max_tokens")
    if field is not None and field.default == value:
        return None
    return value
