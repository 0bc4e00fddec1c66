"""The pipeline's side of the record path: one attempt (or one answer served without a
provider call) → one ledger record, through the same ``store_call`` as every handler.

Also the marker that tells framework handlers a provider call is being recorded by a pipeline
(:func:`in_pipeline_call`), so a handler that is attached too never records it a second time.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar

from tokenomy.pipeline._request import ModelRequest
from tokenomy.pipeline._response import ModelResponse

if TYPE_CHECKING:
    from tokenomy._tracking import Tracker
    from tokenomy.ledger import LedgerStore
    from tokenomy.pricing import PriceBook
    from tokenomy.usage import Usage

__all__ = ["estimate_usage_of", "guard_async_iter", "guard_iter", "in_pipeline_call", "store"]

T = TypeVar("T")

_IN_PIPELINE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tokenomy_in_pipeline_call", default=False
)


def in_pipeline_call() -> bool:
    """True while a pipeline is calling the provider here: the call is recorded by the
    pipeline, so framework handlers that see it (LangChain callbacks, LlamaIndex events)
    must not record it again."""
    return _IN_PIPELINE.get()


def guard_iter(source: Iterable[T]) -> Iterator[T]:
    """``source``'s items, each produced with :func:`in_pipeline_call` true (a stream's
    provider events fire while it is read, maybe far from where it was opened)."""
    it = iter(source)
    try:
        while True:
            token = _IN_PIPELINE.set(True)
            try:
                item = next(it)
            except StopIteration:
                return
            finally:
                _IN_PIPELINE.reset(token)
            yield item
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            token = _IN_PIPELINE.set(True)
            try:
                close()
            finally:
                _IN_PIPELINE.reset(token)


async def guard_async_iter(source: AsyncIterable[T]) -> AsyncIterator[T]:
    """:func:`guard_iter` for async streams."""
    it = source.__aiter__()
    try:
        while True:
            token = _IN_PIPELINE.set(True)
            try:
                item = await it.__anext__()
            except StopAsyncIteration:
                return
            finally:
                _IN_PIPELINE.reset(token)
            yield item
    finally:
        aclose = getattr(it, "aclose", None)
        if aclose is not None:
            token = _IN_PIPELINE.set(True)
            try:
                await aclose()
            finally:
                _IN_PIPELINE.reset(token)


def estimate_usage_of(request: ModelRequest, response: ModelResponse | None) -> Usage:
    """An ``estimated`` usage for a call whose provider reported none: the request's prompt
    and what came back (text and tool-call arguments)."""
    from tokenomy.tokens import estimate_call

    output: Any = response.message if response is not None else ""
    prompt: Any = request.prompt if request.kind == "completion" else list(request.messages)
    usage: Usage = estimate_call(
        prompt,
        output,
        model=(response.model if response is not None else None) or request.model,
        provider=request.provider,
        tools=list(request.tools) or None,
    )
    return usage


def store(
    *,
    request: ModelRequest,
    response: ModelResponse | None,
    attempt: int,
    started: float,
    ended: float | None = None,
    error: BaseException | None = None,
    run: tuple[Any, Any, Any],
    trackers: tuple[Tracker, ...],
    tags: dict[str, str],
    ledger: LedgerStore | None,
    price_book: PriceBook | None,
    served: bool = False,
) -> Any:
    """Record one attempt (``served``: an answer given without a provider call)."""
    from tokenomy._tracking import store_call

    ended = perf_counter() if ended is None else ended
    usage = response.usage if response is not None else None
    cache = response.cache if response is not None else None
    if served and cache is None:
        from tokenomy.usage import Usage

        usage = Usage()  # answered by a policy: nothing was sent, nothing billed
    elif usage is None and cache is None:
        if (response is not None and (response.text or response.tool_calls or error is None)) or (error is not None and _consumer_stopped(error)):
            usage = estimate_usage_of(request, response)
        else:
            from tokenomy.usage import Usage

            usage = Usage()  # the provider failed before generating: nothing billed
    first = response.first_chunk_at if response is not None else None
    return store_call(
        model=(response.model if response is not None else None) or request.model,
        usage=usage,
        provider=(response.provider if response is not None else None) or request.provider,
        kind=request.kind,
        latency_ms=(ended - started) * 1000.0,
        ttft_ms=None if first is None else (first - started) * 1000.0,
        streamed=request.stream,
        run_id=run[0],
        parent_run_id=run[1],
        root_run_id=run[2],
        base_tags=dict(tags),
        tags=dict(request.tags) or None,
        cache=cache,
        attempt=attempt,
        error=None if error is None else type(error).__name__,
        service_tier=response.service_tier if response is not None else None,
        name=request.name,
        framework=request.framework,
        truncated=bool(response is not None and response.truncated),
        billed_usd=None if usage is None or usage.extra is None else usage.extra.billed_usd,
        price_book=price_book,
        ledger=ledger,
        trackers=trackers,
        request=None if request.kind == "embedding" else _request_source(request),
    )


def _consumer_stopped(error: BaseException) -> bool:
    import asyncio

    return isinstance(error, GeneratorExit | asyncio.CancelledError)


def _request_source(request: ModelRequest) -> Any:
    """What the record's request hashes are computed from when the call is stored
    (``tokenomy/_request_hash.py``): the request's messages (a copy of the list: a caller may
    append to its own) or prompt, tools and parameters."""
    from tokenomy._request_hash import NormalisedRequest

    params = request.params
    tools = request.tools or None
    if request.prompt is not None and not request.messages:
        return NormalisedRequest(request.prompt, tools, params)
    return NormalisedRequest(tuple(request.messages), tools, params)
