"""``TokenomyChatModel``: any LangChain chat model, with tokenomy policies around every call.

Each call is translated into a :class:`tokenomy.ModelRequest` and run through a
:class:`tokenomy.Pipeline` whose sender calls the WRAPPED model through its public API
(``invoke``/``ainvoke``/``stream``/``astream``), its run nested under the wrapper's run. The
pipeline records every attempt (one ledger record, run id = the wrapper's LangChain run id);
the callback handler skips both the wrapper's run (by its ``_type``) and the wrapped model's
run (it starts while :func:`tokenomy.in_pipeline_call` is true), so nothing is recorded twice.

``BaseChatModel.stream``/``astream`` (langchain-core 1.7) call ``_stream`` without the run
manager, so the wrapper's ``stream``/``astream`` fix the run id up front and hand ``_stream``
an equivalent run manager through a context variable, set only while the first chunk is
being produced.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableBinding, ensure_config
from pydantic import ConfigDict, Field, PrivateAttr

import tokenomy
from tokenomy import ConfigurationError, ModelRequest, ModelResponse, Pipeline, Policy, RunInfo
from tokenomy_langchain._tags import langchain_tags
from tokenomy_langchain._translate import (
    call_kwargs,
    message_of,
    model_info,
    native_messages,
    params_of,
    response_of,
    stream_response,
    to_dicts,
)
from tokenomy_langchain._wrapped import WRAPPER_LLM_TYPE

if TYPE_CHECKING:
    from langchain_core.language_models import LanguageModelInput
    from langchain_core.language_models.base import LangSmithParams
    from langchain_core.runnables import RunnableConfig

    from tokenomy import LedgerStore, PriceBook, StreamChunk

__all__ = ["TokenomyChatModel"]

RunManager = CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun
#: the run manager of a stream() call, for the _stream it is about to start
_STREAM_RUN: ContextVar[RunManager | None] = ContextVar("tokenomy_lc_stream_run", default=None)


class TokenomyChatModel(BaseChatModel):
    """A drop-in chat model that runs tokenomy ``policies`` around every call of ``model``.

    ``TokenomyChatModel(ChatOpenAI(...), policies=[tokenomy.MaxTokens(400)])`` works wherever
    the wrapped model did: ``invoke``/``ainvoke``/``batch``/``abatch``/``stream``/``astream``,
    ``bind_tools``, ``with_structured_output`` (the wrapped model's own method, every
    ``method`` and ``include_raw``), LCEL chains, callbacks, ``astream_events`` and
    :func:`tokenomy_langchain.track`. Every call (each attempt a policy makes) is one
    ledger record under the wrapper's LangChain run id.

    * ``ledger``/``price_book``: where records go and how they are priced (over an enclosing
      ``track()`` block's).
    * ``tags``: a mapping is tokenomy attribution for every call (it wins over the enclosing
      ``track()`` blocks' tags, which win over the run's LangChain metadata and tags, as for
      the callback handler); a list is LangChain's own run tags.
    * The wrapper never consults LangChain's LLM cache itself (``cache=False``); the
      wrapped model does, as it would unwrapped.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: BaseChatModel
    policies: list[Policy] = Field(default_factory=list)
    ledger: Any = None
    price_book: Any = None
    record_tags: dict[str, str] = Field(default_factory=dict)
    _pipeline: Pipeline = PrivateAttr()

    def __init__(
        self,
        model: BaseChatModel | None = None,
        policies: Sequence[Policy] = (),
        *,
        ledger: LedgerStore | None = None,
        price_book: PriceBook | None = None,
        tags: Mapping[str, Any] | list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if model is None:
            model = kwargs.pop("model", None)
        if not isinstance(model, BaseChatModel):
            raise ConfigurationError(
                "TokenomyChatModel wraps a LangChain chat model (a BaseChatModel such as "
                f"ChatOpenAI), got {type(model).__name__}"
            )
        if isinstance(tags, Mapping):
            kwargs.setdefault(
                "record_tags", {str(k): str(v) for k, v in tags.items() if v is not None}
            )
        elif tags is not None:
            kwargs["tags"] = list(tags)
        kwargs.setdefault("cache", False)
        kwargs.update(model=model, policies=list(policies), ledger=ledger, price_book=price_book)
        super().__init__(**kwargs)

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        policies = list(self.policies)
        if type(self)._wrapped_for is not TokenomyChatModel._wrapped_for:
            from tokenomy import warn_hidden_retries

            # a subclass that picks among several models (a cascade's tiers) takes their
            # retries over itself (take_over_sdk_retries_all); warn once if one still retries
            warn_hidden_retries(self.model, policies)
        else:
            from tokenomy import take_over_sdk_retries

            # the wrapped client's own retries would reach no ledger: a copy of the model whose
            # SDK clients do not retry, and Retry.like_sdk() unless a Retry is in the policies
            # (with no policies too: each attempt is then a record, not one call for three)
            model, policies = take_over_sdk_retries(self.model, policies)
            if model is not self.model:
                self.__dict__["model"] = model
        self._pipeline = Pipeline(policies, ledger=self.ledger, price_book=self.price_book)

    # -- what tracers see --------------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return WRAPPER_LLM_TYPE

    @property
    def _identifying_params(self) -> dict[str, Any]:
        wrapped = self.model
        return {
            **wrapped._identifying_params,
            "wrapped_type": wrapped._llm_type,
            "policies": [p.label for p in self.policies],
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return self.model._get_ls_params(stop=stop, **kwargs)

    # -- tools and structured output -----------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """The wrapped model's ``bind_tools`` (its tool formatting, ``tool_choice``,
        ``strict``...), bound on the wrapper."""
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        bound = self.model.bind_tools(tools, **kwargs)
        return self.bind(**_bound_kwargs(bound, self.model, "bind_tools"))

    def with_structured_output(
        self, schema: Any, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        """The wrapped model's ``with_structured_output`` (its methods: json_schema,
        function_calling, json_mode, Anthropic's tool...), with the wrapper in its place."""
        runnable = self.model.with_structured_output(schema, include_raw=include_raw, **kwargs)
        swapped = _swap(runnable, self.model, self)
        if swapped is runnable:
            raise ConfigurationError(
                f"{type(self.model).__name__}.with_structured_output returned a runnable "
                "without the model in it; call it on the wrapped model directly"
            )
        result: Runnable[LanguageModelInput, Any] = swapped
        return result

    # -- calls -------------------------------------------------------------------------------

    def _wrapped_for(self, final: ModelRequest) -> BaseChatModel:
        """The chat model that makes the call ``final`` describes (here always ``model``; a
        cascade picks a tier's model by ``final.model``)."""
        return self.model

    def _request(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        run_manager: RunManager | None,
        *,
        stream: bool,
    ) -> tuple[ModelRequest, dict[str, Any]]:
        call = dict(kwargs)
        if stop is not None:
            call["stop"] = stop
        name, provider = model_info(self.model, kwargs)
        if run_manager is not None:
            run = RunInfo(
                run_id=run_manager.run_id,
                parent_run_id=run_manager.parent_run_id,
                root_run_id=None if run_manager.parent_run_id else run_manager.run_id,
            )
            lc = langchain_tags(run_manager.metadata, run_manager.tags)
        else:
            run, lc = RunInfo(), {}
        if lc:
            block = tokenomy.current_tags()
            tags = {k: v for k, v in lc.items() if k not in block}
            tags.update(self.record_tags)
        else:
            tags = dict(self.record_tags)
        request = ModelRequest(
            model=name,
            provider=provider,
            messages=to_dicts(messages),
            params=params_of(call, self.model),
            stream=stream,
            kind="chat",
            tags=tags,
            run=run,
            name=self.model.get_name(),
            framework="langchain",
            native=messages,
        )
        return request, call

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request, call = self._request(messages, stop, kwargs, run_manager, stream=False)
        config = _child_config(run_manager)

        def send(final: ModelRequest) -> ModelResponse:
            answer = self._wrapped_for(final).invoke(
                native_messages(request, final, messages),
                config=config,
                **call_kwargs(call, request, final),
            )
            return response_of(answer, provider=request.provider)

        response = self._pipeline.call(request, send)
        return ChatResult(generations=[ChatGeneration(message=message_of(response))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request, call = self._request(messages, stop, kwargs, run_manager, stream=False)
        config = _child_config(run_manager)

        async def send(final: ModelRequest) -> ModelResponse:
            answer = await self._wrapped_for(final).ainvoke(
                native_messages(request, final, messages),
                config=config,
                **call_kwargs(call, request, final),
            )
            return response_of(answer, provider=request.provider)

        response = await self._pipeline.acall(request, send)
        return ChatResult(generations=[ChatGeneration(message=message_of(response))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        manager = run_manager or _take_stream_run()
        request, call = self._request(messages, stop, kwargs, manager, stream=True)
        config = _child_config(manager)

        def send(final: ModelRequest) -> ModelResponse:
            chunks = self._wrapped_for(final).stream(
                native_messages(request, final, messages),
                config=config,
                **call_kwargs(call, request, final),
            )
            return stream_response(chunks, provider=request.provider)

        for chunk in self._pipeline.call(request, send):
            yield ChatGenerationChunk(message=_chunk_message(chunk))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        manager = run_manager or _take_stream_run()
        request, call = self._request(messages, stop, kwargs, manager, stream=True)
        config = _child_config(manager)

        async def send(final: ModelRequest) -> ModelResponse:
            chunks = self._wrapped_for(final).astream(
                native_messages(request, final, messages),
                config=config,
                **call_kwargs(call, request, final),
            )
            return stream_response(chunks, provider=request.provider)

        async for chunk in await self._pipeline.acall(request, send):
            yield ChatGenerationChunk(message=_chunk_message(chunk))

    # -- stream()/astream(): hand _stream its run manager ---------------------------------------

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        config, manager = self._stream_run(config, asynchronous=False)
        chunks = super().stream(input, config, stop=stop, **kwargs)
        token = _STREAM_RUN.set(manager)
        try:
            first = next(chunks)
        except StopIteration:
            return
        finally:
            _STREAM_RUN.reset(token)
        yield first
        yield from chunks

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        config, manager = self._stream_run(config, asynchronous=True)
        chunks = super().astream(input, config, stop=stop, **kwargs)
        token = _STREAM_RUN.set(manager)
        try:
            first = await chunks.__anext__()
        except StopAsyncIteration:
            return
        finally:
            _STREAM_RUN.reset(token)
        yield first
        async for chunk in chunks:
            yield chunk

    def _stream_run(
        self, config: RunnableConfig | None, *, asynchronous: bool
    ) -> tuple[RunnableConfig, RunManager]:
        """The config with its run id fixed, and a run manager like the one stream() opens."""
        config = ensure_config(config)
        run_id = config.get("run_id") or uuid4()
        config["run_id"] = run_id
        configure = AsyncCallbackManager.configure if asynchronous else CallbackManager.configure
        cm = configure(
            config.get("callbacks"),
            self.callbacks,
            self.verbose,
            config.get("tags"),
            self.tags,
            config.get("metadata"),
            self.metadata,
        )
        factory = AsyncCallbackManagerForLLMRun if asynchronous else CallbackManagerForLLMRun
        manager = factory(
            run_id=run_id,
            handlers=cm.handlers,
            inheritable_handlers=cm.inheritable_handlers,
            parent_run_id=cm.parent_run_id,
            tags=cm.tags,
            inheritable_tags=cm.inheritable_tags,
            metadata=cm.metadata,
            inheritable_metadata=cm.inheritable_metadata,
        )
        return config, manager


def _take_stream_run() -> Any:
    manager = _STREAM_RUN.get()
    if manager is not None:
        _STREAM_RUN.set(None)
    return manager


def _child_config(run_manager: RunManager | None) -> RunnableConfig:
    """The wrapped model's config: its run nests under the wrapper's."""
    if run_manager is None:
        return {}
    # what ParentRunManager.get_child() does (an LLM run manager has no get_child)
    child: CallbackManager | AsyncCallbackManager
    if isinstance(run_manager, AsyncCallbackManagerForLLMRun):
        child = AsyncCallbackManager(handlers=[], parent_run_id=run_manager.run_id)
    else:
        child = CallbackManager(handlers=[], parent_run_id=run_manager.run_id)
    child.set_handlers(run_manager.inheritable_handlers)
    child.add_tags(run_manager.inheritable_tags)
    child.add_metadata(run_manager.inheritable_metadata)
    return {"callbacks": child}


def _chunk_message(chunk: StreamChunk) -> AIMessageChunk:
    native = chunk.native
    if isinstance(native, AIMessageChunk):
        return native
    from langchain_core.messages.tool import tool_call_chunk

    return AIMessageChunk(
        content=chunk.text,
        tool_call_chunks=[
            tool_call_chunk(
                name=d.get("name") or None,
                args=d.get("arguments") or None,
                id=d.get("id"),
                index=d.get("index"),
            )
            for d in chunk.tool_call_chunks
        ],
    )


def _bound_kwargs(bound: Any, model: BaseChatModel, method: str) -> dict[str, Any]:
    if isinstance(bound, RunnableBinding) and bound.bound is model:
        return dict(bound.kwargs)
    raise ConfigurationError(
        f"{type(model).__name__}.{method} returned {type(bound).__name__}, not a binding of "
        "the model: TokenomyChatModel cannot take its arguments over"
    )


def _swap(runnable: Any, old: Any, new: Any) -> Any:
    """``runnable`` with every reference to ``old`` replaced by ``new`` (a copy of each
    runnable on the way; the others are shared)."""
    if runnable is old:
        return new
    fields = getattr(type(runnable), "model_fields", None)
    if not isinstance(runnable, Runnable) or not fields:
        return runnable
    update: dict[str, Any] = {}
    for name in fields:
        value = getattr(runnable, name, None)
        swapped = _swap_value(value, old, new)
        if swapped is not value:
            update[name] = swapped
    return runnable.model_copy(update=update) if update else runnable  # type: ignore[attr-defined]


def _swap_value(value: Any, old: Any, new: Any) -> Any:
    if isinstance(value, Runnable):
        return _swap(value, old, new)
    if isinstance(value, list):
        items = [_swap_value(v, old, new) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        mapped = {k: _swap_value(v, old, new) for k, v in value.items()}
        return mapped if any(mapped[k] is not value[k] for k in value) else value
    return value

