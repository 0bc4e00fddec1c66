"""A :class:`~tokenomy.budget.Budget`'s arguments, checked: each refused with a
:class:`~tokenomy.exceptions.ConfigurationError` that says what was expected."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from tokenomy.budget._store import MAX_NANOS, from_nanos, to_nanos
from tokenomy.exceptions import ConfigurationError

__all__ = ["checked_fraction", "checked_scope", "checked_tokens", "checked_usd"]


def checked_usd(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise ConfigurationError(f"Budget limit_usd must be a number of dollars, got {value!r}")
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ConfigurationError(f"Budget limit_usd must be a number, got {value!r}") from exc
    if not amount.is_finite() or amount <= 0:
        raise ConfigurationError(
            f"Budget limit_usd must be a positive, finite amount of dollars, got {value!r}"
        )
    if to_nanos(amount, up=False) >= MAX_NANOS:
        raise ConfigurationError(
            f"Budget limit_usd {value!r} is above the largest budget a store keeps exactly "
            f"(${from_nanos(MAX_NANOS - 1)}); split it into several budgets"
        )
    if to_nanos(amount, up=False) < 1:
        raise ConfigurationError(f"Budget limit_usd {value!r} is below $0.000000001")
    return amount


def checked_tokens(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"Budget limit_tokens must be a whole number >= 1, got {value!r}")
    return value


def checked_scope(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, tuple | list) or not all(isinstance(t, str) and t for t in items):
        raise ConfigurationError(
            f"Budget scope must be None (global), a tag name ('user') or a tuple of tag names "
            f"(('team', 'feature')), got {value!r}"
        )
    if len(set(items)) != len(items):
        raise ConfigurationError(f"Budget scope names a tag twice: {value!r}")
    return tuple(items)


def checked_fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"Budget {name} must be a fraction in (0, 1], got {value!r}")
    if not 0 < value <= 1:
        raise ConfigurationError(f"Budget {name} must be a fraction in (0, 1], got {value!r}")
    return float(value)
