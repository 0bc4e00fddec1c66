"""``CircuitBreaker``: stop calling a provider/model that keeps failing.

Per ``provider/model`` key: closed (calls go through) → open after ``failure_threshold``
failures in a row (calls refused at once with :class:`~tokenomy.CircuitOpenError`, or sent to
``fallback_model``) → after ``reset_after`` seconds one trial call goes through (half-open):
its success closes the breaker, its failure opens it again. Only provider-side failures count
(:func:`classify`: retryable and ambiguous ones); a 400 or 401 says nothing about the
provider's health and leaves the count alone.

Put it after :class:`~tokenomy.Retry` in the policies (``[Retry(), CircuitBreaker()]``) so
that every attempt counts and an open breaker is not retried.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from tokenomy.exceptions import CircuitOpenError, ConfigurationError
from tokenomy.pipeline._policy import AsyncCallNext, CallNext, Policy
from tokenomy.pipeline._request import ModelRequest
from tokenomy.pipeline._response import ModelResponse
from tokenomy.resilience._breaker_store import BreakerStore, open_breaker_store
from tokenomy.resilience._classify import classify
from tokenomy.resilience._clock import Clock

__all__ = ["CircuitBreaker"]


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class CircuitBreaker(Policy):
    """A circuit breaker per provider/model (see the module docstring).

    ``store``: ``None``/``"memory://"`` (this process), ``"redis://host:port/db?prefix=ns"``
    (shared by every process) or a :class:`BreakerStore`. ``clock``: wall-clock seconds
    (``time.time`` by default; injectable for tests).
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_after: float = 30.0,
        store: str | BreakerStore | None = None,
        fallback_model: str | None = None,
        fallback_provider: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ConfigurationError(f"failure_threshold must be >= 1, got {failure_threshold!r}")
        if reset_after <= 0:
            raise ConfigurationError(f"reset_after must be > 0 seconds, got {reset_after!r}")
        self.failure_threshold = int(failure_threshold)
        self.reset_after = float(reset_after)
        self.store = open_breaker_store(store)
        self.fallback_model = fallback_model
        self.fallback_provider = fallback_provider
        self.clock: Clock = clock or time.time

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(failure_threshold={self.failure_threshold}, "
            f"reset_after={self.reset_after}, store={self.store!r})"
        )

    @staticmethod
    def key(request: ModelRequest) -> str:
        """The breaker's key for a request: ``provider/model``."""
        return f"{request.provider or 'unknown'}/{request.model or 'default'}"

    def state(self, request: ModelRequest) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"`` for ``request``'s provider/model."""
        return self.store.get(self.key(request)).state

    # -- the steps --------------------------------------------------------------------------

    def _route(self, request: ModelRequest) -> ModelRequest:
        """The request to send: as it is when its breaker lets it through, else the
        fallback's; :class:`CircuitOpenError` when neither may go."""
        now = self.clock()
        if self.store.acquire(self.key(request), now=now, reset_after=self.reset_after):
            return request
        if self.fallback_model is not None and self.fallback_model != request.model:
            fallback = request.replace(
                model=self.fallback_model, provider=self.fallback_provider or request.provider
            )
            if self.store.acquire(self.key(fallback), now=now, reset_after=self.reset_after):
                return fallback
        state = self.store.get(self.key(request))
        raise CircuitOpenError(
            provider=request.provider,
            model=request.model,
            opened_at=_when(state.opened_at),
            retry_at=_when(state.opened_at + self.reset_after),
            failures=state.failures,
        )

    def _failed(self, request: ModelRequest, error: BaseException) -> None:
        if isinstance(error, Exception) and classify(error).kind != "fatal":
            self.store.failure(
                self.key(request), threshold=self.failure_threshold, now=self.clock()
            )

    def _answered(self, request: ModelRequest, response: ModelResponse) -> ModelResponse:
        def done(resp: ModelResponse, error: BaseException | None) -> None:
            if error is None:
                self.store.success(self.key(request))
            elif not isinstance(error, GeneratorExit | asyncio.CancelledError):
                self._failed(request, error)

        response.on_complete(done)
        return response

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        routed = self._route(request)
        try:
            response = call_next(routed)
        except BaseException as exc:
            self._failed(routed, exc)
            raise
        return self._answered(routed, response)

    async def ahandle(self, request: ModelRequest, call_next: AsyncCallNext) -> ModelResponse:
        routed = await asyncio.to_thread(self._route, request) if _remote(self.store) else (
            self._route(request)
        )
        try:
            response = await call_next(routed)
        except BaseException as exc:
            self._failed(routed, exc)
            raise
        return self._answered(routed, response)


def _remote(store: Any) -> bool:
    from tokenomy.resilience._breaker_store import MemoryBreakerStore

    return not isinstance(store, MemoryBreakerStore)
