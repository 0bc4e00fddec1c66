"""``Retry``: cost-aware retries of failed attempts, built on tenacity.

Only failures another attempt may cure are retried (:func:`classify`): rate limits, 503s,
timeouts and connection errors up to ``max_attempts``; ambiguous ones (500, a malformed body)
up to ``ambiguous_attempts``; never a 400/401/403/404, a content-policy refusal or a
context-length error, which are raised at once with a note saying why. Waits are exponential
with full jitter (``uniform(0, min(max_wait, initial_wait × 2^(n-1)))``), or exactly what the
provider asked for (``Retry-After`` / ``retry-after-ms``); the call gives up rather than
wait past ``max_time``. A :class:`RetryBudget` caps retries at ``budget_ratio`` of requests
over a sliding window.

Timeouts of its own, per operation: ``attempt_timeout`` (seconds one attempt may take) and
``total_timeout`` (seconds for the whole call, attempts and waits together). Each attempt is
sent with ``timeout = min(attempt_timeout, total_timeout - elapsed)`` in the request's
``params``, which the wrappers hand to the SDK client's own per-request ``timeout`` option
(the client then raises its timeout error, retried like any timeout); an async attempt is
also bounded by ``asyncio.timeout`` as a backstop for a client that ignores it (after a grace
of max(1 s, 50%), since a client's timeout applies per phase: connect, write, read). No
attempt starts once the total is spent.

Every attempt is its own ledger record (the pipeline's attempt step records it with its
attempt number and error class), so the retries' cost is in the ledger, not hidden.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import tenacity

from tokenomy.exceptions import ConfigurationError
from tokenomy.pipeline._policy import AsyncCallNext, CallNext, Policy
from tokenomy.pipeline._request import ModelRequest
from tokenomy.pipeline._response import ModelResponse
from tokenomy.resilience._budget import RetryBudget, RetryBudgetExhausted
from tokenomy.resilience._classify import classify
from tokenomy.resilience._clock import (
    AsyncSleep,
    Clock,
    Sleep,
    real_async_sleep,
    real_clock,
    real_sleep,
)

__all__ = ["Retry"]

T = TypeVar("T")


class Retry(Policy):
    """Retry failed attempts that may succeed, within caps on attempts, time and a budget.

    * ``max_attempts``: attempts per call, the first included (retryable failures);
      ``ambiguous_attempts``: the same for ambiguous ones (500s, malformed bodies);
    * ``max_time``: seconds from the first attempt after which no new attempt starts (a wait
      that would end past it is not begun);
    * ``initial_wait``/``max_wait``: the exponential backoff's scale and cap (full jitter);
      a provider's ``Retry-After`` is waited exactly (never less); one longer than
      ``max_wait_retry_after`` (or past ``max_time``) ends the call instead;
    * ``budget_ratio``/``budget_window``/``budget_min_retries``: the retry budget (or pass
      ``budget=RetryBudget(...)`` to share one); ``on_budget_exhausted(event)`` is its alert;
    * ``attempt_timeout``/``total_timeout``: seconds per attempt and for the whole call
      (``None``: no limit of the policy's own; the client's ``timeout`` applies);
    * ``clock``/``sleep``/``async_sleep``/``rng``: injectable for tests
      (:class:`tokenomy.testing.FakeClock`).

    The SDK clients retry on their own (``max_retries``, 2 by default) and those attempts
    would reach no ledger: the LangChain/LlamaIndex wrappers rebuild the wrapped model's
    clients with ``max_retries=0`` (:func:`tokenomy.take_over_sdk_retries`), so this policy
    owns every retry; with a bare pipeline, build the client with ``max_retries=0``.
    """

    def __init__(
        self,
        *,
        max_attempts: int = 3,
        max_time: float = 60.0,
        budget_ratio: float = 0.05,
        budget_window: float = 60.0,
        budget_min_retries: int = 10,
        budget: RetryBudget | None = None,
        on_budget_exhausted: Callable[[RetryBudgetExhausted], None] | None = None,
        ambiguous_attempts: int = 2,
        initial_wait: float = 0.5,
        max_wait: float = 20.0,
        max_wait_retry_after: float = 60.0,
        attempt_timeout: float | None = None,
        total_timeout: float | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        async_sleep: AsyncSleep | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1 or ambiguous_attempts < 1:
            raise ConfigurationError(
                f"max_attempts and ambiguous_attempts must be >= 1 (1: no retry), got "
                f"{max_attempts!r} and {ambiguous_attempts!r}"
            )
        if max_time <= 0 or initial_wait < 0 or max_wait < 0 or max_wait_retry_after < 0:
            raise ConfigurationError(
                "max_time must be > 0 and the waits >= 0 seconds, got "
                f"max_time={max_time!r}, initial_wait={initial_wait!r}, max_wait={max_wait!r}"
            )
        for name, value in (("attempt_timeout", attempt_timeout),
                            ("total_timeout", total_timeout)):
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ConfigurationError(
                    f"{name} must be a positive number of seconds (or None), got {value!r}"
                )
        self.attempt_timeout = None if attempt_timeout is None else float(attempt_timeout)
        self.total_timeout = None if total_timeout is None else float(total_timeout)
        self.max_attempts = int(max_attempts)
        self.ambiguous_attempts = min(int(ambiguous_attempts), self.max_attempts)
        self.max_time = float(max_time)
        self.initial_wait = float(initial_wait)
        self.max_wait = float(max_wait)
        self.max_wait_retry_after = float(max_wait_retry_after)
        self.clock: Clock = clock or real_clock
        self.sleep: Sleep = sleep or real_sleep
        self.async_sleep: AsyncSleep = async_sleep or real_async_sleep
        self.rng = rng or random.Random()
        self.budget = budget or RetryBudget(
            ratio=budget_ratio,
            window=budget_window,
            min_retries=budget_min_retries,
            on_exhausted=on_budget_exhausted,
            clock=self.clock,
        )
        self._backoff = tenacity.wait_exponential(multiplier=self.initial_wait, max=self.max_wait)
        self._lock = threading.Lock()
        #: failures seen, by ``"<kind>:<reason>"``; and how many calls gave up, by why
        self.failures: Counter[str] = Counter()
        self.gave_up: Counter[str] = Counter()

    def __repr__(self) -> str:
        return (
            f"Retry(max_attempts={self.max_attempts}, max_time={self.max_time}, "
            f"budget_ratio={self.budget.ratio})"
        )

    # -- the tenacity pieces ----------------------------------------------------------------

    def _retrying_kw(self, start: float) -> dict[str, Any]:
        def should_retry(state: tenacity.RetryCallState) -> bool:
            outcome = state.outcome
            if outcome is None or not outcome.failed:
                return False
            error = outcome.exception()
            if not isinstance(error, Exception):
                return False  # KeyboardInterrupt, cancellation: never retried
            failure = classify(error)
            self._count("failures", f"{failure.kind}:{failure.reason}")
            limit = self.max_attempts if failure.kind == "retryable" else self.ambiguous_attempts
            if failure.kind == "fatal":
                _note(error, f"tokenomy.Retry: not retried ({failure.reason}: another attempt "
                             "cannot succeed; fix the request or credentials)")
                self._count("gave_up", "fatal")
                return False
            if state.attempt_number >= limit:
                _note(error, f"tokenomy.Retry: gave up after {state.attempt_number} attempts "
                             f"({failure.kind}: {failure.reason})")
                self._count("gave_up", "attempts")
                return False
            return True

        def wait(state: tenacity.RetryCallState) -> float:
            outcome = state.outcome
            error = outcome.exception() if outcome is not None else None
            failure = classify(error) if isinstance(error, Exception) else None
            if failure is not None and failure.retry_after is not None:
                return failure.retry_after  # never earlier; stop() refuses too long a wait
            high = float(self._backoff(state))
            return self.rng.uniform(0.0, high)

        def stop(state: tenacity.RetryCallState) -> bool:
            waited = self.clock() - start + (state.upcoming_sleep or 0.0)
            error = state.outcome.exception() if state.outcome is not None else None
            if (state.upcoming_sleep or 0.0) > self.max_wait_retry_after:
                if isinstance(error, BaseException):
                    _note(error, f"tokenomy.Retry: gave up, the provider asked to wait "
                                 f"{state.upcoming_sleep:g}s (max_wait_retry_after="
                                 f"{self.max_wait_retry_after:g}s)")
                self._count("gave_up", "retry_after")
                return True
            if self.total_timeout is not None and waited >= self.total_timeout:
                if isinstance(error, BaseException):
                    _note(error, f"tokenomy.Retry: gave up, the next attempt would start past "
                                 f"total_timeout={self.total_timeout:g}s")
                self._count("gave_up", "total_timeout")
                return True
            if waited > self.max_time:
                if isinstance(error, BaseException):
                    _note(error, f"tokenomy.Retry: gave up, the next attempt would start past "
                                 f"max_time={self.max_time:g}s")
                self._count("gave_up", "max_time")
                return True
            if not self.budget.try_retry():
                if isinstance(error, BaseException):
                    _note(error, "tokenomy.Retry: not retried, the retry budget is exhausted")
                self._count("gave_up", "budget")
                return True
            return False

        return {"retry": should_retry, "wait": wait, "stop": stop, "reraise": True}

    def attempt_budget(self, start: float) -> float | None:
        """Seconds the next attempt may take (``None``: no limit of this policy's), from the
        per-attempt and total timeouts and the time since ``start`` (the policy's clock)."""
        limits = [t for t in (self.attempt_timeout,) if t is not None]
        if self.total_timeout is not None:
            limits.append(max(self.total_timeout - (self.clock() - start), 0.001))
        return min(limits) if limits else None

    @classmethod
    def like_sdk(cls, max_retries: int = 2) -> Retry:
        """The retries an ``openai``/``anthropic`` client makes on its own (``max_retries``),
        as a policy, so each attempt is a ledger record: 408/409/429/5xx, timeouts and
        connection errors retried ``max_retries`` times, waits of up to
        ``min(8 s, 0.5 s × 2^(n-1))`` (full jitter) or the provider's ``Retry-After`` up to
        60 s, no retry budget. What the wrappers add when they turn a client's retries off
        and the policies hold no :class:`Retry`."""
        n = max(int(max_retries), 0) + 1
        return cls(
            max_attempts=n, ambiguous_attempts=n, max_time=math.inf, initial_wait=0.5,
            max_wait=8.0, max_wait_retry_after=60.0, budget=_NoBudget(),
        )

    def _count(self, which: str, key: str) -> None:
        with self._lock:
            getattr(self, which)[key] += 1

    # -- any callable (a chain's invoke...) --------------------------------------------------

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` under this policy's rules (classification, waits, caps,
        budget): what ``with_resilience`` uses for a whole LangChain chain."""
        start = self.clock()
        self.budget.record_request()
        retrying = tenacity.Retrying(sleep=self.sleep, **self._retrying_kw(start))
        return retrying(fn, *args, **kwargs)

    async def arun(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """:meth:`run` for a coroutine function."""
        start = self.clock()
        self.budget.record_request()
        retrying = tenacity.AsyncRetrying(sleep=self.async_sleep, **self._retrying_kw(start))
        result: T = await retrying(fn, *args, **kwargs)
        return result

    # -- the policy -------------------------------------------------------------------------

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        if self.attempt_timeout is None and self.total_timeout is None:
            return self.run(call_next, request)
        start = self.clock()

        def attempt(req: ModelRequest) -> ModelResponse:
            return call_next(req.with_params(timeout=self.attempt_budget(start)))

        return self._run_from(start, attempt, request)

    async def ahandle(self, request: ModelRequest, call_next: AsyncCallNext) -> ModelResponse:
        if self.attempt_timeout is None and self.total_timeout is None:
            return await self.arun(call_next, request)
        start = self.clock()

        async def attempt(req: ModelRequest) -> ModelResponse:
            seconds = self.attempt_budget(start)
            # the client's timeout is per phase (connect, write, read): the backstop leaves it
            # a grace of max(1 s, 50%) so that it fires only for a client that ignores it
            grace = None if seconds is None else seconds + max(1.0, seconds / 2)
            async with asyncio.timeout(grace):
                return await call_next(req.with_params(timeout=seconds))

        self.budget.record_request()
        retrying = tenacity.AsyncRetrying(sleep=self.async_sleep, **self._retrying_kw(start))
        result: ModelResponse = await retrying(attempt, request)
        return result

    def _run_from(self, start: float, fn: Callable[..., T], /, *args: Any) -> T:
        self.budget.record_request()
        retrying = tenacity.Retrying(sleep=self.sleep, **self._retrying_kw(start))
        return retrying(fn, *args)


class _NoBudget(RetryBudget):
    """A retry budget that never refuses (what an SDK client's own retries had)."""

    def __init__(self) -> None:
        super().__init__(ratio=1.0, min_retries=0)

    def __repr__(self) -> str:
        return "RetryBudget(unlimited)"

    def record_request(self) -> None:
        return None

    def try_retry(self) -> bool:
        return True


def _note(error: BaseException, note: str) -> None:
    notes = getattr(error, "__notes__", None) or []
    if note not in notes:
        error.add_note(note)
