"""Resilience policies: cost-aware retries, circuit breakers, request deduplication.

* :class:`Retry`: retries only what may succeed (:func:`classify`), backoff with full jitter,
  ``Retry-After`` honoured, caps on attempts and time, a retry budget;
* :class:`CircuitBreaker`: fail fast (or fall back) while a provider/model keeps failing,
  state per process or shared through Redis;
* :class:`SingleFlight`: identical in-flight requests sent once; idempotency keys.

Every name here is also exported by :mod:`tokenomy`.
"""

from __future__ import annotations

from tokenomy.resilience._breaker import CircuitBreaker
from tokenomy.resilience._breaker_store import (
    BreakerState,
    BreakerStore,
    MemoryBreakerStore,
    RedisBreakerStore,
    open_breaker_store,
)
from tokenomy.resilience._budget import RedisRetryBudget, RetryBudget, RetryBudgetExhausted
from tokenomy.resilience._classify import AttemptFailure, ErrorClass, classify, retry_after_of
from tokenomy.resilience._hidden import (
    hidden_retries,
    take_over_sdk_retries,
    take_over_sdk_retries_all,
    warn_hidden_retries,
)
from tokenomy.resilience._retry import Retry
from tokenomy.resilience._single_flight import IDEMPOTENCY_TAG, SingleFlight, request_key
from tokenomy.resilience._summary import RetrySummary, retry_summary

__all__ = [
    "IDEMPOTENCY_TAG",
    "AttemptFailure",
    "BreakerState",
    "BreakerStore",
    "CircuitBreaker",
    "ErrorClass",
    "MemoryBreakerStore",
    "RedisBreakerStore",
    "RedisRetryBudget",
    "Retry",
    "RetryBudget",
    "RetryBudgetExhausted",
    "RetrySummary",
    "SingleFlight",
    "classify",
    "hidden_retries",
    "open_breaker_store",
    "request_key",
    "retry_after_of",
    "retry_summary",
    "take_over_sdk_retries",
    "take_over_sdk_retries_all",
    "warn_hidden_retries",
]
