"""Next month's spend from the daily series, and what-if scenarios.

The model (numpy least squares): ``spend(day) = a + b * t + s[weekday]`` (a linear trend and a
weekly season, the season's seven terms summing to zero), fitted on the days of the period.
A day's 95% prediction interval is ``point +- t(0.975, dof) * sigma * sqrt(1 + x (X'X)^-1 x')``
(``sigma`` the residuals' standard error), the month total's ``sum +- t * sigma *
sqrt(days + 1' X_f (X'X)^-1 X_f' 1)`` over its days (errors independent). With fewer than 14
days the season is dropped (trend only); with fewer than 3, the mean is carried forward.

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


def _design(t: Any, weekday: Any, season: bool) -> Any:
    import numpy as np

    cols = [np.ones_like(t, dtype=float), t.astype(float)]
    if season:
        # sum-to-zero coding of the seven weekdays (six columns)
        for k in range(6):
            cols.append((weekday == k).astype(float) - (weekday == 6).astype(float))
    return np.column_stack(cols)


def forecast_daily(values: list[float], first_weekday: int, horizon: int = 30) -> Forecast:
    """Forecast ``horizon`` days after the daily ``values`` (the first on ``first_weekday``,
    Monday 0)."""
    import numpy as np

    n = len(values)
    if n < 3:
        mean = float(sum(values) / n) if n else 0.0
        days = [DayForecast(i + 1, mean, 0.0, mean * 3) for i in range(horizon)]
        return Forecast(days, mean * horizon, 0.0, mean * 3 * horizon, "mean")
    season = n >= 14
    t = np.arange(n)
    wd = (first_weekday + t) % 7
    x = _design(t, wd, season)
    y = np.asarray(values, dtype=float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    dof = max(1, n - x.shape[1])
    sigma = float(math.sqrt(float(resid @ resid) / dof))
    xtx_inv = np.linalg.pinv(x.T @ x)
    tf = np.arange(n, n + horizon)
    xf = _design(tf, (first_weekday + tf) % 7, season)
    points = xf @ beta
    lev = np.einsum("ij,jk,ik->i", xf, xtx_inv, xf)
    q = _t975(dof)
    half = q * sigma * np.sqrt(1 + lev)
    days = [
        DayForecast(i + 1, float(points[i]), float(max(0.0, points[i] - half[i])), float(points[i] + half[i]))
        for i in range(horizon)
    ]
    ones = np.ones(horizon)
    total = float(points.sum())
    total_var = sigma**2 * (horizon + float(ones @ xf @ xtx_inv @ xf.T @ ones))
    total_half = q * math.sqrt(total_var)
    model = "trend + weekly season" if season else "trend"
    return Forecast(days, total, max(0.0, total - total_half), total + total_half, model)


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
