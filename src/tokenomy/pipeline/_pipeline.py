"""``Pipeline``: policies in order, around a sender, with every attempt recorded.

::

    caller ─► wrapper ─► Pipeline.call(request, send)
                            policy 1 ─► policy 2 ─► … ─► attempt step ─► send ─► provider
                            (before)    (before)          (records)        (the wrapper's
                            ◄─ after ◄── after ◄───────── response ◄────── framework call)

``send`` is the wrapper's: it turns the final :class:`~tokenomy.ModelRequest` into the
framework's call and the result into a :class:`~tokenomy.ModelResponse` (complete, or a stream).
The attempt step, innermost, records every call of ``send`` as its own ledger record (attempt
1, 2, … under the call's run) through the one record path, with :func:`in_pipeline_call` true
while the provider is being called so an attached framework handler does not record it too. A
call the policies answer without calling ``send`` (a cache hit) is recorded once, as served.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from time import perf_counter
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import ConfigurationError
from tokenomy.pipeline._policy import AsyncCallNext, CallNext, Policy
from tokenomy.pipeline._record import _IN_PIPELINE, guard_async_iter, guard_iter, store
from tokenomy.pipeline._request import ModelRequest
from tokenomy.pipeline._response import ModelResponse

if TYPE_CHECKING:
    from tokenomy._tracking import Tracker
    from tokenomy.ledger import LedgerStore
    from tokenomy.pricing import PriceBook

__all__ = ["AsyncSend", "Pipeline", "Send"]

#: The wrapper's framework call, for sync calls.
Send = Callable[[ModelRequest], ModelResponse]
#: The wrapper's framework call, for async calls.
AsyncSend = Callable[[ModelRequest], Awaitable[ModelResponse]]


class Pipeline:
    """Policies (outermost first) around a wrapper's ``send``, recording every attempt.

    ``ledger``/``price_book``: where this pipeline's records go and how they are priced (they
    win over an enclosing ``track()`` block's; records still count in every enclosing
    :class:`~tokenomy.Tracker`). ``tags``: attribution for every call (the request's own
    tags and the enclosing blocks' win over them).
    """

    def __init__(
        self,
        policies: Sequence[Policy] = (),
        *,
        ledger: LedgerStore | None = None,
        price_book: PriceBook | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        policies = tuple(policies)
        for policy in policies:
            if not isinstance(policy, Policy):
                raise ConfigurationError(
                    f"pipeline policies must be tokenomy.Policy instances, got "
                    f"{type(policy).__name__}: subclass tokenomy.Policy (override before/after "
                    "or handle/ahandle)"
                )
        self.policies: tuple[Policy, ...] = policies
        self.ledger = ledger
        self.price_book = price_book
        self.tags: dict[str, str] = {
            str(k): str(v) for k, v in (tags or {}).items() if v is not None
        }

    def __repr__(self) -> str:
        return f"Pipeline(policies={list(self.policies)!r})"

    # -- running -----------------------------------------------------------------------------

    def call(self, request: ModelRequest, send: Send) -> ModelResponse:
        """Run ``request`` through the policies to ``send`` and back (sync)."""
        state = _Call(self, request)

        def attempt(req: ModelRequest) -> ModelResponse:
            return state.attempt(req, send)

        call_next: CallNext = attempt
        for policy in reversed(self.policies):
            call_next = _bind(policy, call_next)
        response = call_next(request)
        state.served(request, response)
        return response

    async def acall(self, request: ModelRequest, send: AsyncSend) -> ModelResponse:
        """Run ``request`` through the policies to ``send`` and back (async)."""
        state = _Call(self, request)

        async def attempt(req: ModelRequest) -> ModelResponse:
            return await state.aattempt(req, send)

        call_next: AsyncCallNext = attempt
        for policy in reversed(self.policies):
            call_next = _abind(policy, call_next)
        response = await call_next(request)
        state.served(request, response)
        return response


def _bind(policy: Policy, call_next: CallNext) -> CallNext:
    def step(request: ModelRequest) -> ModelResponse:
        return policy.handle(request, call_next)

    return step


def _abind(policy: Policy, call_next: AsyncCallNext) -> AsyncCallNext:
    async def step(request: ModelRequest) -> ModelResponse:
        return await policy.ahandle(request, call_next)

    return step


class _Call:
    """One call through a pipeline: its run, the blocks it counts in, its attempts."""

    __slots__ = ("attempts", "pipeline", "run", "trackers")

    def __init__(self, pipeline: Pipeline, request: ModelRequest) -> None:
        from tokenomy._tracking import current_trackers
        from tokenomy.ledger._record import new_id as new_run_id

        self.pipeline = pipeline
        self.trackers: tuple[Tracker, ...] = current_trackers()
        info = request.run
        if info.run_id is not None:
            self.run: tuple[Any, Any, Any] = (info.run_id, info.parent_run_id, info.root_run_id)
        else:
            # a call of its own, hung under the innermost track() block (as store_call does)
            inner = self.trackers[-1] if self.trackers else None
            self.run = (
                new_run_id(),
                info.parent_run_id or (inner.run_id if inner else None),
                info.root_run_id or (self.trackers[0].run_id if self.trackers else None),
            )
        self.attempts = 0

    def _check(self, request: ModelRequest) -> None:
        # strict pricing: refuse before anything is sent (an unknown model would be billed
        # and recorded unpriced)
        from tokenomy.pricing import get_price_book

        book = self.pipeline.price_book
        if book is None and self.trackers:
            book = self.trackers[-1].price_book
        book = book or get_price_book()
        if request.model:
            book.check(request.model, request.provider)

    def _store(self, request: ModelRequest, response: ModelResponse | None, **kw: Any) -> Any:
        p = self.pipeline
        return store(
            request=request,
            response=response,
            run=self.run,
            trackers=self.trackers,
            tags=p.tags,
            ledger=p.ledger,
            price_book=p.price_book,
            **kw,
        )

    def attempt(self, request: ModelRequest, send: Send) -> ModelResponse:
        self._check(request)
        self.attempts += 1
        n = self.attempts
        started = perf_counter()
        token = _IN_PIPELINE.set(True)
        try:
            response = send(request)
        except BaseException as exc:
            self._store(request, None, attempt=n, started=started, error=exc)
            raise
        finally:
            _IN_PIPELINE.reset(token)
        return self._opened(request, response, n, started)

    async def aattempt(self, request: ModelRequest, send: AsyncSend) -> ModelResponse:
        self._check(request)
        self.attempts += 1
        n = self.attempts
        started = perf_counter()
        token = _IN_PIPELINE.set(True)
        try:
            response = await send(request)
        except BaseException as exc:
            self._store(request, None, attempt=n, started=started, error=exc)
            raise
        finally:
            _IN_PIPELINE.reset(token)
        return self._opened(request, response, n, started)

    def _opened(
        self, request: ModelRequest, response: ModelResponse, n: int, started: float
    ) -> ModelResponse:
        response.attempt = n
        if response.done:
            request = _annotated(request, response)
            response.record = self._store(request, response, attempt=n, started=started)
            return response
        source = response._source
        if isinstance(source, Iterable):
            response._source = guard_iter(source)
        elif source is not None:
            response._source = guard_async_iter(source)

        def recorded(resp: ModelResponse, error: BaseException | None) -> None:
            req = request if error is not None else _annotated(request, resp)
            resp.record = self._store(req, resp, attempt=n, started=started, error=error)

        response.on_complete(recorded)
        return response

    def served(self, request: ModelRequest, response: ModelResponse) -> None:
        """Record an answer the policies gave without any provider call (a cache hit)."""
        if self.attempts or response.record is not None:
            return
        started = perf_counter()

        def recorded(resp: ModelResponse, error: BaseException | None) -> None:
            resp.record = self._store(
                request, resp, attempt=0, started=started, error=error, served=True
            )

        response.on_complete(recorded)


def _annotated(request: ModelRequest, response: ModelResponse) -> ModelRequest:
    """``request`` with the tags its annotator gives ``response`` (a policy's verdict on the
    answer, recorded on this attempt's record); an annotator that fails costs no record."""
    annotate = request.annotate
    if annotate is None:
        return request
    try:
        tags = dict(annotate(response))
    except Exception as exc:
        tags = {"annotate_error": type(exc).__name__}
    return request.with_tags(**tags) if tags else request
