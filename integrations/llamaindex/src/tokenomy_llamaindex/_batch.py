"""A LlamaIndex LLM over many conversations through a provider batch API (about half price).

``batch_chat(llm, conversations, runner)`` turns each list of ``ChatMessage`` s (or a
prompt string) into the :class:`tokenomy.ModelRequest` :class:`TokenomyLLM` would send (the
LLM's model and provider, the call's keywords), runs them as one :class:`tokenomy.BatchRunner`
job and returns ``ChatResponse`` s in input order. For work inside query engines or agents,
``TokenomyLLM(llm, policies=[tokenomy.Deferral(runner, ...)])`` defers the tagged calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.llms import LLM

from tokenomy import BatchJob, BatchRunner, ModelRequest
from tokenomy_llamaindex._translate import chat_message_of
from tokenomy_llamaindex._wrapper import TokenomyLLM

__all__ = ["batch_chat", "submit_batch"]


def _requests(
    llm: LLM, conversations: Sequence[Sequence[ChatMessage] | str], kwargs: Mapping[str, Any]
) -> list[ModelRequest]:
    wrapper = llm if isinstance(llm, TokenomyLLM) else TokenomyLLM(llm)
    out: list[ModelRequest] = []
    for conversation in conversations:
        messages = (
            [ChatMessage(role=MessageRole.USER, content=conversation)]
            if isinstance(conversation, str)
            else list(conversation)
        )
        out.append(wrapper._request("chat", messages=messages, kwargs=kwargs, stream=False))
    return [r.replace(native=None) for r in out]


def submit_batch(
    llm: LLM,
    conversations: Sequence[Sequence[ChatMessage] | str],
    runner: BatchRunner,
    *,
    tags: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> BatchJob:
    """Submit the conversations as one batch job and return it at once."""
    return runner.submit(_requests(llm, conversations, kwargs), tags=tags)


def batch_chat(
    llm: LLM,
    conversations: Sequence[Sequence[ChatMessage] | str],
    runner: BatchRunner,
    *,
    tags: Mapping[str, Any] | None = None,
    return_exceptions: bool = False,
    **kwargs: Any,
) -> list[ChatResponse | Exception]:
    """Answer every conversation through the provider's batch API and wait: ``ChatResponse`` s
    in input order (a failed item raises, or is returned with ``return_exceptions=True``)."""
    from tokenomy.batch import DeferredItemError

    job = submit_batch(llm, conversations, runner, tags=tags, **kwargs).wait()
    out: list[ChatResponse | Exception] = []
    for result in job.results():
        if result.response is not None:
            response = result.response
            out.append(ChatResponse(message=chat_message_of(response.message), raw=response.raw))
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
