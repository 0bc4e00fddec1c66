"""Resilience policies: cost-aware retries, circuit breakers, request deduplication.

* :class:`Retry`: retries only what may succeed (:func:`classify`), backoff with full jitter,
  ``Retry-After`` honoured, caps on attempts and time, a retry budget;
* :class:`CircuitBreaker`: fail fast (or fall back) while a provider/model keeps failing,
  state per process or shared through Redis;
* :class:`SingleFlight`: identical in-flight requests sent once; idempotency keys.

Every name here is also exported by :mod:`tokenomy`.

Each name is imported from its private module on first access (a report reading
:class:`RetrySummary` does not load the retry machinery).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_LAZY: dict[str, str] = {
    "AttemptFailure": "tokenomy.resilience._classify",
    "BreakerState": "tokenomy.resilience._breaker_store",
    "BreakerStore": "tokenomy.resilience._breaker_store",
    "CircuitBreaker": "tokenomy.resilience._breaker",
    "ErrorClass": "tokenomy.resilience._classify",
    "IDEMPOTENCY_TAG": "tokenomy.resilience._single_flight",
    "MemoryBreakerStore": "tokenomy.resilience._breaker_store",
    "RedisBreakerStore": "tokenomy.resilience._breaker_store",
    "RedisRetryBudget": "tokenomy.resilience._budget",
    "Retry": "tokenomy.resilience._retry",
    "RetryBudget": "tokenomy.resilience._budget",
    "RetryBudgetExhausted": "tokenomy.resilience._budget",
    "RetrySummary": "tokenomy.resilience._summary",
    "SingleFlight": "tokenomy.resilience._single_flight",
    "classify": "tokenomy.resilience._classify",
    "hidden_retries": "tokenomy.resilience._hidden",
    "open_breaker_store": "tokenomy.resilience._breaker_store",
    "request_key": "tokenomy.resilience._single_flight",
    "retry_after_of": "tokenomy.resilience._classify",
    "retry_summary": "tokenomy.resilience._summary",
    "take_over_sdk_retries": "tokenomy.resilience._hidden",
    "take_over_sdk_retries_all": "tokenomy.resilience._hidden",
    "warn_hidden_retries": "tokenomy.resilience._hidden",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenomy.resilience' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
