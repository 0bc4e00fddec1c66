"""Budget alerts: what fires when a budget's spend crosses a soft threshold.

Each threshold fires once per window (and per scope: each user of a per-user budget), decided
atomically by the store, so several processes never fire the same one twice. A hook is a
callable taking a :class:`BudgetAlert`, ``"log"`` (a warning on the ``tokenomy.budget``
logger) or an ``http(s)://`` URL, to which the alert is POSTed as JSON from a background
thread (the call never waits for it; a failure is logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tokenomy._webhook import post_json_later
from tokenomy.exceptions import ConfigurationError

__all__ = ["AlertHook", "BudgetAlert", "alert_hooks"]

LOG = logging.getLogger("tokenomy.budget")


@dataclass(frozen=True, slots=True)
class BudgetAlert:
    """A budget's spend crossed ``threshold`` (a fraction of ``limit``) in this window."""

    budget: str
    scope: dict[str, str]
    threshold: float
    unit: str
    limit: Decimal | int
    spent: Decimal | int
    resets_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (amounts as strings, times ISO 8601)."""
        return {
            "budget": self.budget,
            "scope": dict(self.scope),
            "threshold": self.threshold,
            "unit": self.unit,
            "limit": str(self.limit),
            "spent": str(self.spent),
            "resets_at": None if self.resets_at is None else self.resets_at.isoformat(),
        }


AlertHook = Callable[[BudgetAlert], Any]


def _log(alert: BudgetAlert) -> None:
    where = ", ".join(f"{k}={v}" for k, v in alert.scope.items()) or "global"
    LOG.warning(
        "budget %r (%s) passed %d%% of its limit: spent %s of %s",
        alert.budget, where, round(alert.threshold * 100), alert.spent, alert.limit,
    )


def _webhook(url: str, timeout: float = 5.0) -> AlertHook:
    def post(alert: BudgetAlert) -> None:
        post_json_later(url, alert.to_dict(), what="budget alert", logger=LOG, timeout=timeout)

    return post


def alert_hooks(alerts: object) -> tuple[AlertHook, ...]:
    """The hooks ``alerts`` names: ``None``, a callable, ``"log"``, a URL, or a list."""
    if alerts is None:
        return ()
    items: Sequence[object] = (
        alerts if isinstance(alerts, list | tuple) else (alerts,)
    )
    hooks: list[AlertHook] = []
    for item in items:
        if isinstance(item, str):
            if item == "log":
                hooks.append(_log)
            elif item.startswith(("http://", "https://")):
                hooks.append(_webhook(item))
            else:
                raise ConfigurationError(
                    f"budget alert {item!r} is not 'log' or an http(s):// webhook URL"
                )
        elif callable(item):
            hooks.append(item)
        else:
            raise ConfigurationError(
                f"budget alerts must be a callable, 'log', a webhook URL or a list of them, "
                f"got {item!r}"
            )
    return tuple(hooks)


def fire(hooks: Sequence[AlertHook], alert: BudgetAlert) -> None:
    """Run every hook; one that raises is logged and does not stop the others or the call."""
    for hook in hooks:
        try:
            hook(alert)
        except Exception as exc:
            LOG.error("budget alert hook %r failed: %s: %s", hook, type(exc).__name__, exc)
