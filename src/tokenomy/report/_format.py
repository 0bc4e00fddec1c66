"""Display formatting of money, tokens and latency (render time only; data stays Decimal)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["format_cost", "format_latency", "format_tokens", "format_usd"]

_CENT = Decimal("0.01")
_BASIS = Decimal("0.0001")
_MICRO = Decimal("0.000001")
_ONE = Decimal(1)


def format_usd(value: Decimal) -> str:
    """``value`` USD for display: cents from $1 up, 4 places from a cent, else 6 places.

    Small per-call costs stay readable (``$0.000263``) and a non-zero amount never shows as
    ``$0``: below a millionth it reads ``<$0.000001``.
    """
    if value == 0:
        return "$0.00"
    sign = "-" if value < 0 else ""
    mag = abs(value)
    if mag >= _ONE:
        return f"{sign}${mag.quantize(_CENT, rounding=ROUND_HALF_UP):,}"
    if mag >= _CENT:
        return f"{sign}${mag.quantize(_BASIS, rounding=ROUND_HALF_UP)}"
    q = mag.quantize(_MICRO, rounding=ROUND_HALF_UP)
    if q == 0:
        return f"{sign}<$0.000001"
    return f"{sign}${q}"


def format_cost(cost: Decimal, unpriced: int = 0) -> str:
    """A cost that is only a lower bound when some calls are unpriced: ``$1.23 + 2 unpriced``."""
    text = format_usd(cost)
    if unpriced:
        return f"{text} + {unpriced} unpriced"
    return text


def format_tokens(n: int) -> str:
    """A token count with thousands separators; ``-`` for zero so tables stay readable."""
    return f"{n:,}" if n else "-"


def format_latency(ms: float | None) -> str:
    """Milliseconds under ten seconds, else seconds; ``-`` when unknown."""
    if ms is None:
        return "-"
    if ms < 10_000:
        return f"{ms:,.0f} ms"
    return f"{ms / 1000:,.1f} s"
