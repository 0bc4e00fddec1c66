"""A LangChain chat model over many inputs through a provider batch API (about half price).

``batch_invoke(model, inputs, runner)`` turns each input (a string, a list of messages, a
``PromptValue``, a list of message dicts) into a :class:`tokenomy.ModelRequest` the way
:class:`TokenomyChatModel` does (the model's name and provider from its LangSmith params, the
call's generation keywords), runs them as one :class:`tokenomy.BatchRunner` job and returns
the ``AIMessage`` s in input order. For a chain's model step, wrap the model in
``TokenomyChatModel(model, policies=[tokenomy.Deferral(runner, ...)])`` and call
``chain.batch(inputs)``: the deferrable calls of the fan-out go out as one batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue

from tokenomy import BatchJob, BatchRunner, ConfigurationError, ModelRequest
from tokenomy_langchain._translate import message_of, model_info, params_of, to_dicts

__all__ = ["batch_invoke", "batch_requests", "submit_batch"]


def _messages(value: LanguageModelInput) -> list[BaseMessage]:
    if isinstance(value, str):
        return [HumanMessage(value)]
    if isinstance(value, PromptValue):
        return value.to_messages()
    return convert_to_messages(value)


def _unwrapped(model: BaseChatModel) -> BaseChatModel:
    inner = getattr(model, "model", None)  # a TokenomyChatModel: its wrapped model
    return inner if isinstance(inner, BaseChatModel) else model


def batch_requests(
    model: BaseChatModel, inputs: Sequence[LanguageModelInput], **kwargs: Any
) -> list[ModelRequest]:
    """The requests ``model.invoke(x, **kwargs)`` would send for each input."""
    chat = _unwrapped(model)
    name, provider = model_info(chat, kwargs)
    if name is None:
        raise ConfigurationError(
            f"cannot tell which model {type(chat).__name__} calls (no LangSmith model name): "
            "pass model=... as a keyword"
        )
    params = params_of(kwargs, chat)
    return [
        ModelRequest(
            model=name,
            provider=provider,
            messages=to_dicts(_messages(x)),
            params=params,
            framework="langchain",
            name=type(chat).__name__,
        )
        for x in inputs
    ]


def submit_batch(
    model: BaseChatModel,
    inputs: Sequence[LanguageModelInput],
    runner: BatchRunner,
    *,
    tags: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> BatchJob:
    """Submit the inputs as one batch job and return it at once (resume it later with
    ``runner.job(job.job_id).wait()``)."""
    return runner.submit(batch_requests(model, inputs, **kwargs), tags=tags)


def batch_invoke(
    model: BaseChatModel,
    inputs: Sequence[LanguageModelInput],
    runner: BatchRunner,
    *,
    tags: Mapping[str, Any] | None = None,
    return_exceptions: bool = False,
    **kwargs: Any,
) -> list[AIMessage | Exception]:
    """Answer every input through the provider's batch API and wait: ``AIMessage`` s in
    input order (an item that failed after its retries raises, or is returned as the
    exception with ``return_exceptions=True``)."""
    from tokenomy.batch import DeferredItemError

    job = submit_batch(model, inputs, runner, tags=tags, **kwargs).wait()
    out: list[AIMessage | Exception] = []
    for result in job.results():
        if result.response is not None:
            out.append(message_of(result.response))
            continue
        error = DeferredItemError(
            f"batch item {result.custom_id} of job {job.job_id} failed after "
            f"{result.attempts} attempt(s): {result.error}",
            job_id=job.job_id,
            custom_id=result.custom_id,
            error=result.error,
        )
        if not return_exceptions:
            raise error
        out.append(error)
    return out
