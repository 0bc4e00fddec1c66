"""The SDK clients' own retries, which no ledger sees: taken over by the wrappers.

``openai.OpenAI`` and ``anthropic.Anthropic`` retry 408/409/429/5xx and connection errors
``max_retries`` times (2 by default) inside one call: those attempts are billed when the
provider generated anything, yet reach no ledger and multiply with :class:`~tokenomy.Retry`'s.

:func:`take_over_sdk_retries` (called by ``TokenomyChatModel``, ``TokenomyLLM`` and
``TokenomyEmbeddings``, with or without policies, by ``TokenomyMiddleware`` for each agent
model, by the memory summarizers and by ``with_resilience`` for each model it can see in a
chain) and :func:`take_over_sdk_retries_all` (the cascades' tiers, the middleware's
``models``) make every attempt the pipeline's:

* the wrapped model is replaced by a copy whose SDK clients do not retry: each client the
  model holds is rebuilt with the SDK's own ``client.with_options(max_retries=0)`` (a copy
  that keeps the base URL, headers, timeout and ``http_client``: the same connection pool,
  proxies and hooks); a resource bound to a client (``root_client.chat.completions``) is
  bound to the rebuilt one; a ``max_retries`` field on the model is set to 0, so clients it
  builds later do not retry either. The user's model is left as it was.
* when the policies hold no :class:`~tokenomy.Retry`, a :meth:`Retry.like_sdk` is added as
  the innermost policy: the same failures retried as often as the client would have, with
  the same backoff range, now each attempt a ledger record (attempt number, error class).

A model whose clients cannot be rebuilt (an unknown holder) keeps retrying and is warned
about once per class (:func:`warn_hidden_retries`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from tokenomy._warn_once import WarnOnce
from tokenomy.exceptions import TokenomyWarning

__all__ = [
    "hidden_retries",
    "take_over_sdk_retries",
    "take_over_sdk_retries_all",
    "warn_hidden_retries",
]

_WARNED = WarnOnce()
_CLIENT_ATTRS = ("client", "async_client", "root_client", "root_async_client", "_client",
                 "_aclient", "_async_client", "_sync_client")


def hidden_retries(model: Any) -> int:
    """The largest ``max_retries`` set on ``model`` or the SDK clients it holds (0: none)."""
    found = 0
    for obj in (model, *(getattr(model, a, None) for a in _CLIENT_ATTRS)):
        value = getattr(obj, "max_retries", None) if obj is not None else None
        if isinstance(value, int) and not isinstance(value, bool):
            found = max(found, value)
        inner = getattr(obj, "_client", None) if obj is not None else None
        value = getattr(inner, "max_retries", None)
        if isinstance(value, int) and not isinstance(value, bool) and obj is not model:
            found = max(found, value)  # a resource (chat.completions) bound to a client
    return found


def warn_hidden_retries(model: Any, policies: Iterable[Any]) -> bool:
    """Warn once per model class when ``policies`` hold a :class:`~tokenomy.Retry` and
    ``model``'s client retries on its own; returns whether it warned."""
    from tokenomy.resilience._retry import Retry

    if not any(isinstance(p, Retry) for p in policies):
        return False
    n = hidden_retries(model)
    if n <= 0:
        return False
    name = type(model).__name__
    return _WARNED(
        ("hidden_retries", name),
        f"{name} retries failed calls itself (max_retries={n}) and tokenomy.Retry is in the "
        "policies: those hidden attempts reach no ledger and multiply with Retry's. Build "
        f"the model with max_retries=0 and let tokenomy.Retry retry.",
        TokenomyWarning,
        stacklevel=3,
    )


def take_over_sdk_retries(model: Any, policies: Sequence[Any]) -> tuple[Any, list[Any]]:
    """``(model, policies)`` to build a wrapper's pipeline from, with no hidden retry left.

    When ``model`` (a LangChain/LlamaIndex model, or an SDK client) retries on its own:
    a copy of it whose clients do not retry, and ``policies`` with a
    :meth:`Retry.like_sdk` added last unless they hold a :class:`~tokenomy.Retry` already.
    Otherwise (nothing retries, or the clients could not be rebuilt: warned once) the two
    as given.
    """
    models, out = take_over_sdk_retries_all([model], policies)
    return models[0], out


def take_over_sdk_retries_all(
    models: Sequence[Any], policies: Sequence[Any]
) -> tuple[list[Any], list[Any]]:
    """:func:`take_over_sdk_retries` for a wrapper that calls any of several models (a
    cascade's tiers, the models an agent middleware may switch to): each model that retries
    on its own replaced by its copy without retries (the same object given twice: one
    copy), and one :meth:`Retry.like_sdk` (the most ``max_retries`` among them) added last
    unless ``policies`` hold a :class:`~tokenomy.Retry`. Innermost, it retries each
    attempt the pipeline makes, so a cascade retries a tier as its client would have before
    falling through to the next one."""
    from tokenomy.resilience._retry import Retry

    out = list(policies)
    result: list[Any] = []
    copies: dict[int, Any] = {}
    most = 0
    for model in models:
        n = hidden_retries(model)
        if n <= 0:
            result.append(model)
            continue
        key = id(model)
        if key not in copies:
            copies[key] = without_sdk_retries(model)
        copy = copies[key]
        if copy is None:
            warn_hidden_retries(model, out)
            result.append(model)
            continue
        most = max(most, n)
        result.append(copy)
    if most and not any(isinstance(p, Retry) for p in out):
        out.append(Retry.like_sdk(most))
    return result, out


def without_sdk_retries(model: Any) -> Any | None:
    """A copy of ``model`` whose SDK clients have ``max_retries=0`` (``None``: not possible);
    ``model`` itself is not changed."""
    memo: dict[int, Any] = {}
    if _is_sdk_client(model):
        return _no_retry(model, memo)
    copier = getattr(model, "model_copy", None)
    if not callable(copier):
        return None
    try:
        copy = copier()
        state = copy.__dict__
        private = getattr(copy, "__pydantic_private__", None) or {}
        cls = type(model)
        if isinstance(state.get("max_retries"), int) or "max_retries" in getattr(
            cls, "model_fields", {}
        ):
            state["max_retries"] = 0
        for name, value in list(state.items()):
            # a cached dict of client parameters (langchain-anthropic's _client_params)
            if isinstance(getattr(cls, name, None), functools.cached_property) and isinstance(
                value, dict
            ) and value.get("max_retries"):
                state[name] = {**value, "max_retries": 0}
        for name in _CLIENT_ATTRS:
            where: dict[str, Any]
            if name in state:
                where = state
            elif name in private:
                where = private
            else:
                continue  # not built yet: built later from the copy's max_retries=0
            value = where[name]
            if value is None:
                continue
            new = _no_retry(value, memo)
            if new is None:
                return None
            where[name] = new
    except Exception:  # an unexpected model layout: fall back to the warning
        return None
    return copy if hidden_retries(copy) == 0 else None


def _is_sdk_client(value: Any) -> bool:
    return isinstance(getattr(value, "max_retries", None), int) and callable(
        getattr(value, "with_options", None)
    )


def _no_retry(value: Any, memo: dict[int, Any]) -> Any | None:
    """``value`` (an SDK client, or a resource bound to one) without retries."""
    key = id(value)
    if key in memo:
        return memo[key]
    if _is_sdk_client(value):
        new = value if value.max_retries == 0 else value.with_options(max_retries=0)
    else:
        inner = getattr(value, "_client", None)
        if not _is_sdk_client(inner):
            return value if getattr(value, "max_retries", 0) == 0 else None
        new = type(value)(_no_retry(inner, memo))  # openai/anthropic resources: cls(client)
    memo[key] = new
    return new
