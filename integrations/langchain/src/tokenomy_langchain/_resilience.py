"""``with_resilience(chain, ...)``: tokenomy's retry rules around any runnable, in place of
LangChain's ``with_retry`` (which retries every exception alike, ignores ``Retry-After`` and
has no retry budget).

The whole runnable is run again when it fails with an error worth retrying
(:func:`tokenomy.classify`: rate limits, 503s, timeouts, connection errors; 500s cautiously),
never for a 400/401/403/404, a content-policy refusal or a context-length error. Each model
call inside is recorded by the handlers or wrappers the chain already has, attempt by
attempt (a failed call too, with its error class); the callback handler records each with
the chain's attempt number (run metadata ``_tokenomy_attempt``), so the chain's retries are
retries in the ledger (:func:`tokenomy.retry_summary`).

Hidden SDK retries: every model the chain holds where it can be seen (a step of a sequence,
a parallel map, a fallback, a branch, ``bind``/``bind_tools``/``with_config`` bindings, a
``TokenomyChatModel``'s wrapped model: the runnables' fields, walked) and whose client
retries on its own (``max_retries``, 2 by default) is replaced, in a copy of the chain, by a
copy without client retries (:func:`tokenomy.take_over_sdk_retries`; the user's chain and
models are left as they were): the chain is retried by ``retry`` instead, and each model
call is one request. What cannot be seen into keeps its models as they are: a
``RunnableLambda`` (or generator) calling a model from its code, or a runnable that is not a
pydantic model (a LangGraph graph, a custom ``Runnable``). There a model's own retries stay
hidden from every ledger: one ``TokenomyWarning`` per kind of part says so (for a lambda
only when its code is seen to use such a model), and the fix is to build those models with
``max_retries=0`` (or to wrap them in a ``TokenomyChatModel`` with policies, or give the
agent a ``TokenomyMiddleware``, which take them over).
"""

from __future__ import annotations

import itertools
from typing import Any

from langchain_core.language_models import BaseLanguageModel
from langchain_core.runnables import Runnable, RunnableConfig, RunnableGenerator, RunnableLambda

from tokenomy import (
    ConfigurationError,
    Retry,
    TokenomyWarning,
    WarnOnce,
    hidden_retries,
    take_over_sdk_retries,
)
from tokenomy_langchain._tags import ATTEMPT_METADATA

__all__ = ["with_resilience"]

_WARNED = WarnOnce()


def with_resilience(
    runnable: Runnable[Any, Any], retry: Retry | None = None, **retry_options: Any
) -> Runnable[Any, Any]:
    """``runnable`` whose ``invoke``/``ainvoke`` (and ``batch``) retry under ``retry``
    (default: ``tokenomy.Retry(**retry_options)``), its visible models' own client retries
    turned off (module docstring)."""
    if not isinstance(runnable, Runnable):
        raise ConfigurationError(
            f"with_resilience wraps a LangChain Runnable, got {type(runnable).__name__}"
        )
    if retry is not None and retry_options:
        raise ConfigurationError("pass either a tokenomy.Retry or its options, not both")
    policy = retry if retry is not None else Retry(**retry_options)
    name = runnable.get_name()
    runnable = _Walk(policy).runnable(runnable)

    def invoke(value: Any, config: RunnableConfig) -> Any:
        attempts = itertools.count(1)
        return policy.run(lambda: runnable.invoke(value, _attempt(config, next(attempts))))

    async def ainvoke(value: Any, config: RunnableConfig) -> Any:
        attempts = itertools.count(1)

        async def once() -> Any:
            return await runnable.ainvoke(value, _attempt(config, next(attempts)))

        return await policy.arun(once)

    return RunnableLambda(invoke, afunc=ainvoke, name=f"with_resilience({name})")


def _attempt(config: RunnableConfig, n: int) -> RunnableConfig:
    """``config`` for attempt ``n``: its model runs are recorded with ``attempt=n``."""
    return {**config, "metadata": {**(config.get("metadata") or {}), ATTEMPT_METADATA: n}}


class _Walk:
    """A copy of a runnable tree with every model that retries on its own replaced by its
    retry-free copy (the same model met twice: one copy); opaque parts warned about."""

    def __init__(self, policy: Retry) -> None:
        self.policy = policy
        self.done: dict[int, Any] = {}

    def runnable(self, value: Runnable[Any, Any]) -> Any:
        key = id(value)
        if key not in self.done:
            self.done[key] = value  # a cycle ends here
            self.done[key] = self._taken_over(value)
        return self.done[key]

    def _taken_over(self, value: Runnable[Any, Any]) -> Any:
        if isinstance(value, BaseLanguageModel) and hidden_retries(value) > 0:
            copy, _ = take_over_sdk_retries(value, [self.policy])  # warns if it cannot
            return copy
        fields = getattr(type(value), "model_fields", None)
        if not fields:
            self._opaque(value)
            return value
        update: dict[str, Any] = {}
        for name in fields:
            inner = getattr(value, name, None)
            new = self.value(inner)
            if new is not inner:
                update[name] = new
        return value.model_copy(update=update) if update else value  # type: ignore[attr-defined]

    def value(self, value: Any) -> Any:
        if isinstance(value, Runnable):
            return self.runnable(value)
        if isinstance(value, list | tuple):
            items = [self.value(v) for v in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            return items if isinstance(value, list) else tuple(items)
        if isinstance(value, dict):
            mapped = {k: self.value(v) for k, v in value.items()}
            return mapped if any(mapped[k] is not value[k] for k in value) else value
        return value

    def _opaque(self, value: Runnable[Any, Any]) -> None:
        kind = type(value).__name__
        if isinstance(value, RunnableLambda | RunnableGenerator):
            deps = value.deps if isinstance(value, RunnableLambda) else []
            retrying = [d for d in deps if hidden_retries(d) > 0]
            if not retrying:
                return  # a lambda whose code uses no model we can see
            kind = f"{kind} using {type(retrying[0]).__name__}"
        _WARNED(
            ("with_resilience", kind),
            f"with_resilience cannot replace a model inside a {kind}: a model called there "
            "keeps its SDK client's own retries (max_retries, 2 by default), attempts that "
            "no ledger sees and that multiply with tokenomy.Retry's. Build that model with "
            "max_retries=0 (or wrap it in tokenomy_langchain.TokenomyChatModel with "
            "policies, or give an agent a TokenomyMiddleware: they take those retries over).",
            TokenomyWarning,
            stacklevel=4,
        )
