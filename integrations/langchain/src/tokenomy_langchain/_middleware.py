"""``TokenomyMiddleware``: tokenomy policies around the model calls of a LangChain v1 agent.

``create_agent(model, tools, middleware=[TokenomyMiddleware(policies=[...])])``: each model
call the agent makes goes through ``wrap_model_call`` / ``awrap_model_call``, which translate
the agent's ``ModelRequest`` (model, system message, messages, tools, tool choice,
``model_settings``) into a :class:`tokenomy.ModelRequest` and run the pipeline with a sender
that calls the agent's ``handler`` with the request as the policies left it (a changed
``max_tokens`` or temperature goes into ``model_settings``, changed messages replace the
agent's). The pipeline records each call once; the agent's model run starts while
:func:`tokenomy.in_pipeline_call` is true, so an attached callback handler skips it.

Needs the ``langchain`` package: ``pip install 'tokenomy-langchain[agents]'``.
"""

from __future__ import annotations

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

from tokenomy import ModelRequest, ModelResponse, Pipeline
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


class TokenomyMiddleware(AgentMiddleware):
    """Runs tokenomy ``policies`` around every model call of a ``create_agent`` agent.

    Each call is one ledger record (``ledger``/``price_book``/``tags`` as for
    :class:`~tokenomy_langchain.TokenomyChatModel`), hung under the enclosing
    :func:`tokenomy_langchain.track` block. A policy may change ``max_tokens`` and the other
    generation parameters (sent in ``model_settings``), the messages, tools and tool choice;
    changing ``model`` needs the chat models it may change to in ``models`` (a
    :class:`tokenomy.routing.Cascade` over their names: each attempt's request then carries
    that model).
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
        self.pipeline = Pipeline(policies, ledger=ledger, price_book=price_book, tags=tags)
        self.models: dict[str, BaseChatModel] = {}
        for model in models:
            name, _ = model_info(model, {})
            if name:
                self.models[name] = model

    def wrap_model_call(
        self, request: AgentRequest, handler: Callable[[AgentRequest], Any]
    ) -> Any:
        core = _request_of(request)

        def send(final: ModelRequest) -> ModelResponse:
            return _response_of(handler(self._override(request, core, final)), core.provider)

        return _result_of(self.pipeline.call(core, send))

    async def awrap_model_call(
        self, request: AgentRequest, handler: Callable[[AgentRequest], Awaitable[Any]]
    ) -> Any:
        core = _request_of(request)

        async def send(final: ModelRequest) -> ModelResponse:
            return _response_of(
                await handler(self._override(request, core, final)), core.provider
            )

        return _result_of(await self.pipeline.acall(core, send))

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
