"""Next month's spend from the daily series, and what-if scenarios.

The model (numpy): ``spend(day) = (a + b * t) * s[weekday]``, a linear trend times a weekly
season. The seven factors ``s`` (mean 1) are each weekday's mean ratio to the centred 7-day
moving average; ``a + b * t`` is fitted by least squares to the deseasonalised days
``spend / s``. A day's 95% prediction interval is ``point +- t(0.975, dof) * sqrt((sigma * s)^2
* (1 + x (X'X)^-1 x') + (trend * se)^2)`` (``sigma`` the residuals' standard error, ``se`` the
factor's standard error, ``dof = days - 8``); the total's is ``sum +- t * sqrt(sigma^2 *
(sum(s^2) + w (X'X)^-1 w') + sum((trend * se)^2))`` with ``w = sum(s * x)`` (day errors
independent). With fewer than 14 days the season is dropped (trend only); with fewer
than 3, the mean is carried forward.

Scenarios (``--scenario``): ``"traffic x3"`` (every call times 3), ``"spend x0.8"``, ``"cache
hit rate -20 points"`` (the response cache's hit rate moved by that many points: the calls it
no longer serves cost what a miss costs on average).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tokenomy.exceptions import ConfigurationError

__all__ = ["DayForecast", "Forecast", "Scenario", "apply_scenario", "forecast_daily", "parse_scenario"]


@dataclass(frozen=True, slots=True)
class DayForecast:
    """One forecast day: its index after the last observed day (1 = the next day)."""

    day: int
    point: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Forecast:
    """The next ``days`` days: each day, and their total, with 95% intervals."""

    days: list[DayForecast]
    total: float
    low: float
    high: float
    model: str

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "total_usd": round(self.total, 6),
            "low_usd": round(self.low, 6),
            "high_usd": round(self.high, 6),
            "days": [
                {"day": d.day, "point": round(d.point, 6), "low": round(d.low, 6), "high": round(d.high, 6)}
                for d in self.days
            ],
        }


def _t975(dof: int) -> float:
    # Student's t 97.5% quantile (Cornish-Fisher expansion; exact to ~1e-3 for dof >= 3)
    z = 1.959963984540054
    if dof <= 0:
        return 12.706
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / dof + g2 / dof**2 + g3 / dof**3


def _season(y: Any, weekday: Any) -> tuple[Any, Any]:
    """Seven weekday factors (mean 1), each weekday's mean ratio to the centred 7-day moving
    average, and their standard errors."""
    import numpy as np

    ma = np.convolve(y, np.ones(7) / 7, mode="valid")  # centred on index 3 .. n - 4
    ratios: list[list[float]] = [[] for _ in range(7)]
    for i, m in enumerate(ma):
        if m > 0:
            ratios[int(weekday[i + 3])].append(float(y[i + 3] / m))
    factors = np.array([float(np.mean(r)) if r else 1.0 for r in ratios])
    errors = np.array(
        [float(np.std(r, ddof=1) / math.sqrt(len(r))) if len(r) > 1 else 0.0 for r in ratios]
    )
    mean = float(factors.mean())
    if mean <= 0:
        return np.ones(7), np.zeros(7)
    return factors / mean, errors / mean


def forecast_daily(values: list[float], first_weekday: int, horizon: int = 30) -> Forecast:
    """Forecast ``horizon`` days after the daily ``values`` (the first on ``first_weekday``,
    Monday 0)."""
    import numpy as np

    n = len(values)
    if n < 3:
        mean = float(sum(values) / n) if n else 0.0
        days = [DayForecast(i + 1, mean, 0.0, mean * 3) for i in range(horizon)]
        return Forecast(days, mean * horizon, 0.0, mean * 3 * horizon, "mean")
    y = np.asarray(values, dtype=float)
    t = np.arange(n)
    wd = (first_weekday + t) % 7
    season = n >= 14
    factors, errors = _season(y, wd) if season else (np.ones(7), np.zeros(7))
    d = y / factors[wd]
    x = np.column_stack([np.ones(n), t.astype(float)])
    beta, *_ = np.linalg.lstsq(x, d, rcond=None)
    resid = d - x @ beta
    dof = max(1, n - 2 - (6 if season else 0))
    sigma = float(math.sqrt(float(resid @ resid) / dof))
    xtx_inv = np.linalg.inv(x.T @ x)
    tf = np.arange(n, n + horizon)
    sf = factors[(first_weekday + tf) % 7]
    se = errors[(first_weekday + tf) % 7]
    xf = np.column_stack([np.ones(horizon), tf.astype(float)])
    points = sf * (xf @ beta)
    lev = np.einsum("ij,jk,ik->i", xf, xtx_inv, xf)
    q = _t975(dof)
    trend = xf @ beta
    half = q * np.sqrt((sigma * sf) ** 2 * (1 + lev) + (trend * se) ** 2)
    days = [
        DayForecast(i + 1, float(max(0.0, points[i])), float(max(0.0, points[i] - half[i])),
                    float(max(0.0, points[i] + half[i])))
        for i in range(horizon)
    ]
    w = sf @ xf
    total = float(points.sum())
    total_half = q * math.sqrt(
        sigma**2 * (float(sf @ sf) + float(w @ xtx_inv @ w)) + float(((trend * se) ** 2).sum())
    )
    model = "trend x weekly season" if season else "trend"
    return Forecast(days, max(0.0, total), max(0.0, total - total_half), max(0.0, total + total_half), model)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A what-if: ``kind`` ``traffic`` / ``spend`` (``factor``) or ``cache_hit_rate``
    (``points``)."""

    text: str
    kind: str
    factor: float = 1.0
    points: float = 0.0


_TRAFFIC = re.compile(r"^\s*(traffic|spend|calls)\s*[x×*]\s*([0-9.]+)\s*$", re.I)
_CACHE = re.compile(r"^\s*cache\s+hit\s+rate\s*([+-]\s*[0-9.]+)\s*(points?|pts?|%)?\s*$", re.I)


def parse_scenario(text: str) -> Scenario:
    """A scenario from its text (ConfigurationError saying what is accepted otherwise)."""
    m = _TRAFFIC.match(text)
    if m:
        kind = "spend" if m.group(1).lower() == "spend" else "traffic"
        return Scenario(text, kind, factor=float(m.group(2)))
    m = _CACHE.match(text)
    if m:
        return Scenario(text, "cache_hit_rate", points=float(m.group(1).replace(" ", "")))
    raise ConfigurationError(
        f"unknown scenario {text!r}: use 'traffic x3', 'spend x0.8' or 'cache hit rate -20 points'"
    )


def apply_scenario(
    scenario: Scenario, *, monthly_spend: Decimal, calls: int, cache_hits: int
) -> dict[str, Any]:
    """The month's spend under ``scenario`` (from the forecast's ``monthly_spend`` and the
    period's call and response-cache hit counts)."""
    from tokenomy.ledger._aggregate import decimal_text

    if scenario.kind in ("traffic", "spend"):
        new = monthly_spend * Decimal(str(scenario.factor))
        note = f"every call x{scenario.factor:g}"
    else:
        misses = calls - cache_hits
        rate = cache_hits / calls if calls else 0.0
        new_rate = min(1.0, max(0.0, rate + scenario.points / 100))
        new_misses = calls * (1 - new_rate)
        factor = Decimal(str(new_misses / misses)) if misses else Decimal(1)
        new = monthly_spend * factor
        note = f"response-cache hit rate {rate:.1%} -> {new_rate:.1%}"
    new = new.quantize(Decimal("0.000001"))
    return {
        "scenario": scenario.text,
        "note": note,
        "monthly_spend_usd": decimal_text(monthly_spend.quantize(Decimal("0.000001"))),
        "scenario_spend_usd": decimal_text(new),
        "change_usd": decimal_text(new - monthly_spend.quantize(Decimal("0.000001"))),
    }
