"""``with_resilience(chain, ...)``: tokenomy's retry rules around any runnable, in place of
LangChain's ``with_retry`` (which retries every exception alike, ignores ``Retry-After`` and
has no retry budget).

The whole runnable is run again when it fails with an error worth retrying
(:func:`tokenomy.classify`: rate limits, 503s, timeouts, connection errors; 500s cautiously),
never for a 400/401/403/404, a content-policy refusal or a context-length error. Each model
call inside is recorded by the handlers or wrappers the chain already has, attempt by
attempt. Build the chain's models with ``max_retries=0`` so the SDK does not retry unseen.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from tokenomy import ConfigurationError, Retry

__all__ = ["with_resilience"]


def with_resilience(
    runnable: Runnable[Any, Any], retry: Retry | None = None, **retry_options: Any
) -> Runnable[Any, Any]:
    """``runnable`` whose ``invoke``/``ainvoke`` (and ``batch``) retry under ``retry``
    (default: ``tokenomy.Retry(**retry_options)``)."""
    if not isinstance(runnable, Runnable):
        raise ConfigurationError(
            f"with_resilience wraps a LangChain Runnable, got {type(runnable).__name__}"
        )
    if retry is not None and retry_options:
        raise ConfigurationError("pass either a tokenomy.Retry or its options, not both")
    policy = retry if retry is not None else Retry(**retry_options)

    def invoke(value: Any, config: RunnableConfig) -> Any:
        return policy.run(runnable.invoke, value, config)

    async def ainvoke(value: Any, config: RunnableConfig) -> Any:
        return await policy.arun(runnable.ainvoke, value, config)

    return RunnableLambda(invoke, afunc=ainvoke, name=f"with_resilience({runnable.get_name()})")
