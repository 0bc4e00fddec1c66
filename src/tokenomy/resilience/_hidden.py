"""The SDK clients' own retries, which no ledger sees: found and warned about once.

``openai.OpenAI`` and ``anthropic.Anthropic`` retry 408/409/429/5xx and connection errors
``max_retries`` times (2 by default) inside one call: those attempts are billed when the
provider generated anything, yet reach no ledger and multiply with :class:`~tokenomy.Retry`'s.
A wrapper cannot change a client the user built (LangChain's ``model_copy`` would keep the
client already made), so the wrappers call :func:`warn_hidden_retries`, which looks for a
``max_retries`` on the model and on its clients and warns once per model class.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tokenomy._warn_once import WarnOnce
from tokenomy.exceptions import TokenomyWarning

__all__ = ["hidden_retries", "warn_hidden_retries"]

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
