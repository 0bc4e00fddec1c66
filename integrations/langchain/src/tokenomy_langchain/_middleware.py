"""``TokenomyMiddleware``: tokenomy policies around the model calls of a LangChain v1 agent.

``create_agent(model, tools, middleware=[TokenomyMiddleware(policies=[...])])``: each model
call the agent makes goes through ``wrap_model_call`` / ``awrap_model_call``, which translate
the agent's ``ModelRequest`` (model, system message, messages, tools, tool choice,
``model_settings``) into a :class:`tokenomy.ModelRequest` and run the pipeline with a sender
that calls the agent's ``handler`` with the request as the policies left it (a changed
``max_tokens`` or temperature goes into ``model_settings``, changed messages replace the
agent's). The pipeline records each call once; the agent's model run starts while
:func:`tokenomy.in_pipeline_call` is true, so an attached callback handler skips it.

The SDK clients' own retries (``max_retries``, 2 by default) would be attempts no ledger
sees: the agent's model arrives with each request, so the first call with a model object
builds its copy without client retries (:func:`tokenomy.take_over_sdk_retries`; kept per
model object, so later calls reuse it; the user's model is left as it was) and a pipeline
with ``Retry.like_sdk()`` innermost unless the policies hold a :class:`tokenomy.Retry`; the
agent's handler is called with ``request.override(model=copy)``. ``models`` (a cascade's)
are taken over once, when the middleware is built.

Needs the ``langchain`` package: ``pip install 'tokenomy-langchain[agents]'``.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tokenomy import MissingDependencyError

try:
    from langchain.agents.middleware import AgentMiddleware
    from langchain.agents.middleware import ModelRequest as AgentRequest
    from langchain.agents.middleware import ModelResponse as AgentResponse
except ImportError as exc:  # pragma: no cover - the extra is installed in the dev env
    error = MissingDependencyError("langchain", "agents", "tokenomy_langchain.TokenomyMiddleware")
    error.args = (
        "tokenomy_langchain.TokenomyMiddleware needs the 'langchain' package (LangChain v1 "
        "agents), which is not installed. Install it with: pip install "
        "'tokenomy-langchain[agents]'",
    )
    raise error from exc

from langchain_core.messages import AIMessage, SystemMessage, convert_to_messages

from tokenomy import (
    ModelRequest,
    ModelResponse,
    Pipeline,
    take_over_sdk_retries,
    take_over_sdk_retries_all,
)
from tokenomy_langchain._translate import (
    call_kwargs,
    message_of,
    model_info,
    params_of,
    response_of,
    to_dicts,
)

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from tokenomy import LedgerStore, Policy, PriceBook

__all__ = ["TokenomyMiddleware"]

#: request params that live on the agent's request itself, not in its model_settings
_REQUEST_FIELDS = ("tools", "tool_choice")
#: agent models whose retry-free copy (and pipeline) a middleware keeps (oldest dropped)
_MAX_MODELS = 64


class TokenomyMiddleware(AgentMiddleware):
    """Runs tokenomy ``policies`` around every model call of a ``create_agent`` agent.

    Each call is one ledger record (``ledger``/``price_book``/``tags`` as for
    :class:`~tokenomy_langchain.TokenomyChatModel`), hung under the enclosing
    :func:`tokenomy_langchain.track` block. A policy may change ``max_tokens`` and the other
    generation parameters (sent in ``model_settings``), the messages, tools and tool choice;
    changing ``model`` needs the chat models it may change to in ``models`` (a
    :class:`tokenomy.routing.Cascade` over their names: each attempt's request then carries
    that model). The agent's model and ``models`` are called as copies whose SDK clients do
    not retry on their own (:meth:`taken_over`), so every attempt is a record.
    """

    def __init__(
        self,
        policies: Sequence[Policy] = (),
        *,
        ledger: LedgerStore | None = None,
        price_book: PriceBook | None = None,
        tags: Mapping[str, Any] | None = None,
        models: Sequence[BaseChatModel] = (),
    ) -> None:
        super().__init__()
        # the cascade's models: their hidden SDK retries become the pipeline's
        own, chain = take_over_sdk_retries_all(list(models), policies)
        self.pipeline = Pipeline(chain, ledger=ledger, price_book=price_book, tags=tags)
        self.models: dict[str, BaseChatModel] = {}
        for model in own:
            name, _ = model_info(model, {})
            if name:
                self.models[name] = model
        self._lock = threading.Lock()
        self._taken: OrderedDict[int, tuple[Callable[[], Any], BaseChatModel, Pipeline]] = (
            OrderedDict()
        )
        for given, copy in zip(models, own, strict=True):  # the agent's model may be one
            self._keep(given, copy, self.pipeline)

    def taken_over(self, model: BaseChatModel) -> tuple[BaseChatModel, Pipeline]:
        """The model the agent's handler is called with in place of ``model`` (a copy whose
        SDK clients do not retry, or ``model`` itself when they do not) and the pipeline its
        calls run through (``Retry.like_sdk()`` innermost when the copy needs one); built on
        the first call with ``model``, then reused."""
        key = id(model)
        with self._lock:
            hit = self._taken.get(key)
            if hit is not None and hit[0]() is model:
                self._taken.move_to_end(key)
                return hit[1], hit[2]
        base = self.pipeline
        copy, chain = take_over_sdk_retries(model, base.policies)
        pipeline = base
        if len(chain) != len(base.policies):
            pipeline = Pipeline(
                chain, ledger=base.ledger, price_book=base.price_book, tags=base.tags
            )
        self._keep(model, copy, pipeline)
        return copy, pipeline

    def _keep(self, model: BaseChatModel, copy: BaseChatModel, pipeline: Pipeline) -> None:
        try:
            ref: Callable[[], Any] = weakref.ref(model)
        except TypeError:  # not weakly referable: kept alive while cached
            ref = lambda: model  # noqa: E731
        with self._lock:
            self._taken[id(model)] = (ref, copy, pipeline)
            while len(self._taken) > _MAX_MODELS:
                self._taken.popitem(last=False)

    def _prepared(self, request: AgentRequest) -> tuple[AgentRequest, Pipeline]:
        model, pipeline = self.taken_over(request.model)
        if model is not request.model:
            request = request.override(model=model)
        return request, pipeline

    def wrap_model_call(
        self, request: AgentRequest, handler: Callable[[AgentRequest], Any]
    ) -> Any:
        request, pipeline = self._prepared(request)
        core = _request_of(request)

        def send(final: ModelRequest) -> ModelResponse:
            return _response_of(handler(self._override(request, core, final)), core.provider)

        return _result_of(pipeline.call(core, send))

    async def awrap_model_call(
        self, request: AgentRequest, handler: Callable[[AgentRequest], Awaitable[Any]]
    ) -> Any:
        request, pipeline = self._prepared(request)
        core = _request_of(request)

        async def send(final: ModelRequest) -> ModelResponse:
            return _response_of(
                await handler(self._override(request, core, final)), core.provider
            )

        return _result_of(await pipeline.acall(core, send))

    def _override(
        self, request: AgentRequest, core: ModelRequest, final: ModelRequest
    ) -> AgentRequest:
        return _with_model(self.models, _override(request, core, final), core, final)


def _with_model(
    models: Mapping[str, BaseChatModel], request: AgentRequest, core: ModelRequest,
    final: ModelRequest,
) -> AgentRequest:
    model = models.get(final.model or "") if final.model != core.model else None
    return request.override(model=model) if model is not None else request


def _request_of(request: AgentRequest) -> ModelRequest:
    model = request.model
    settings = dict(request.model_settings or {})
    name, provider = model_info(model, settings)
    messages = list(request.messages)
    if request.system_message is not None:
        messages.insert(0, request.system_message)
    call = {**settings, "tools": request.tools or None, "tool_choice": request.tool_choice}
    return ModelRequest(
        model=name,
        provider=provider,
        messages=to_dicts(messages),
        params=params_of(call, model),
        kind="chat",
        name=model.get_name(),
        framework="langchain",
        native=request,
    )


def _override(request: AgentRequest, core: ModelRequest, final: ModelRequest) -> AgentRequest:
    """The agent's request as the policies left ``core`` (unchanged: the same object)."""
    changes: dict[str, Any] = {}
    if final.messages is not core.messages:
        messages = convert_to_messages(list(final.messages))
        system = [m for m in messages if isinstance(m, SystemMessage)]
        changes["system_message"] = system[0] if system else None
        changes["messages"] = [m for m in messages if not isinstance(m, SystemMessage)]
    if final.params != core.params or final.model != core.model:
        settings = dict(request.model_settings or {})
        changed = call_kwargs(settings, core, final)
        for key in _REQUEST_FIELDS:
            if key in changed and changed.get(key) != core.params.get(key):
                changes[key] = changed[key]
            changed.pop(key, None)
        if changed != settings:
            changes["model_settings"] = changed
    return request.override(**changes) if changes else request


def _response_of(result: Any, provider: str | None) -> ModelResponse:
    """A :class:`ModelResponse` for what the agent's handler returned (its ``native``)."""
    inner = getattr(result, "model_response", result)  # an ExtendedModelResponse
    messages = [inner] if isinstance(inner, AIMessage) else list(getattr(inner, "result", ()))
    ai = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
    if ai is None:
        response = ModelResponse(provider=provider)
    else:
        response = response_of(ai, provider=provider)
    response.native = result
    return response


def _result_of(response: ModelResponse) -> Any:
    if response.native is not None:
        return response.native
    return AgentResponse(result=[message_of(response)])
