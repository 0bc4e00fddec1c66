"""The cost review of a period: :func:`build_review` → :class:`Review` (JSON-ready sections,
recommendations, forecast, scenarios, anomalies), all from store aggregates (``_facts.py`` and
the store's ``aggregate``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.ledger._aggregate import GroupTotals
from tokenomy.review._anomaly import Anomaly, find_anomalies
from tokenomy.review._facts import SUMS, Facts, TagNames, read_facts
from tokenomy.review._forecast import Forecast, apply_scenario, forecast_daily, parse_scenario
from tokenomy.review._recommend import Recommendation, recommend

if TYPE_CHECKING:
    from tokenomy.ledger import LedgerStore, RecordFilter
    from tokenomy.pricing import PriceBook

__all__ = ["Review", "build_review"]

_ZERO = Decimal(0)


def _money(value: Decimal) -> str:
    from tokenomy.ledger._aggregate import decimal_text

    return decimal_text(value.quantize(Decimal("1e-9")) if value.as_tuple().exponent < -12 else value)  # type: ignore[operator]


@dataclass(slots=True)
class Review:
    """A period's review: ``sections`` (JSON-ready dicts), recommendations, the forecast,
    scenarios and anomalies."""

    since: datetime
    until: datetime
    sections: dict[str, Any]
    recommendations: list[Recommendation]
    forecast: Forecast
    scenarios: list[dict[str, Any]]
    anomalies: list[Anomaly]
    daily: list[tuple[str, int, Decimal]] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            **self.sections,
            "daily": [{"day": d, "calls": n, "cost_usd": _money(c)} for d, n, c in self.daily],
            "recommendations": [r.to_json_dict() for r in self.recommendations],
            "projected_monthly_saving_usd": _money(
                sum((r.monthly_saving for r in self.recommendations), _ZERO)
            ),
            "forecast": self.forecast.to_json_dict(),
            "scenarios": self.scenarios,
            "anomalies": [a.to_json_dict() for a in self.anomalies],
        }


def _top(rows: dict[str | None, list[Any]], total: Decimal, n: int) -> list[dict[str, Any]]:
    """The ``n`` costliest keys and the rest, with their shares of ``total``."""
    ordered = sorted(rows.items(), key=lambda kv: (-kv[1][1], str(kv[0])))
    out = []
    for key, (calls, cost, *_) in ordered[:n]:
        out.append(
            {"key": key, "calls": calls, "cost_usd": _money(cost),
             "share": float(cost / total) if total else 0.0}
        )
    rest = ordered[n:]
    if rest:
        calls = sum(v[0] for _, v in rest)
        cost = sum((v[1] for _, v in rest), _ZERO)
        out.append(
            {"key": f"(other {len(rest)})", "calls": calls, "cost_usd": _money(cost),
             "share": float(cost / total) if total else 0.0}
        )
    return out


def _pareto(rows: dict[str | None, list[Any]], total: Decimal) -> dict[str, Any] | None:
    """How few keys make 80% of the cost."""
    costs = sorted((v[1] for k, v in rows.items() if k is not None), reverse=True)
    if not costs or not total:
        return None
    run = _ZERO
    for i, c in enumerate(costs, 1):
        run += c
        if run >= total * Decimal("0.8"):
            return {"keys": i, "of": len(costs), "key_share": i / len(costs),
                    "cost_share": float(run / total)}
    return None  # pragma: no cover - the costs add up to total


def _rate(a: int, b: int) -> float | None:
    return a / b if b else None


def build_review(
    store: LedgerStore,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    names: TagNames | None = None,
    top: int = 8,
    book: PriceBook | None = None,
    scenarios: tuple[str, ...] = (),
    factor: float = 2.0,
    now: datetime | None = None,
    where: RecordFilter | None = None,
) -> Review:
    """The review of the records of ``store`` in ``[since, until)`` (default: the 30 days up to
    now), narrowed by ``where``'s tags, models and providers when given."""
    from dataclasses import replace

    from tokenomy.ledger import RecordFilter
    from tokenomy.pricing import get_price_book

    names = names or TagNames()
    book = book or get_price_book()
    until = until or (now or datetime.now(UTC))
    since = since or until - timedelta(days=30)
    parsed = [parse_scenario(s) for s in scenarios]
    base = where or RecordFilter()
    where = replace(base, since=since, until=until)
    facts = read_facts(store, where, names)
    days = max((until - since).total_seconds() / 86400, 1 / 24)
    sections, calls, cost, hits = _sections(facts, names, top)
    sections["latency_by_model"] = _latency(facts)
    sections["prompt_cache"] = _prompt_cache(facts, book, sections.pop("_input_tokens"))
    length = until - since
    before = replace(base, since=since - length, until=since)
    previous = store.totals(before) if store.count(before) else GroupTotals(key={})
    sections["previous_period"] = {
        "since": (since - length).isoformat(), "calls": previous.count,
        "cost_usd": _money(previous.cost),
        "change": float((cost - previous.cost) / previous.cost) if previous.cost else None,
    }
    daily = _daily(facts, since, until)
    first_weekday = date.fromisoformat(daily[0][0]).weekday() if daily else 0
    forecast = forecast_daily([float(c) for _, _, c in daily], first_weekday)
    monthly = Decimal(str(round(forecast.total, 6)))
    scen = [apply_scenario(s, monthly_spend=monthly, calls=calls, cache_hits=hits) for s in parsed]
    return Review(
        since=since,
        until=until,
        sections=sections,
        recommendations=recommend(facts, book, days),
        forecast=forecast,
        scenarios=scen,
        anomalies=find_anomalies(facts, factor=factor),
        daily=daily,
    )


def _prompt_cache(facts: Facts, book: PriceBook, input_tokens: int) -> dict[str, Any]:
    """Provider prompt caching over the period: the share of input tokens read from the cache
    and what reads saved less what writes cost, at the book's rates (the rule of
    ``tokenomy report``'s prompt-cache figure)."""
    per: dict[tuple[str, str | None], list[int]] = {}
    for (model, provider, _key, _b), v in facts.groups.items():
        slot = per.setdefault((model, provider), [0, 0, 0])
        slot[0] += v[14]
        slot[1] += v[17]
        slot[2] += v[18]
    saved = _ZERO
    unknown = False
    for (model, provider), (read, w5, w1) in per.items():
        if not (read or w5 or w1):
            continue
        price = book.lookup(model, provider)
        if price is None:
            unknown = True
            continue
        base = price.input
        r = price.cache_read if price.cache_read is not None else base
        c5 = price.cache_write_5m if price.cache_write_5m is not None else base
        c1 = price.cache_write_1h if price.cache_write_1h is not None else base
        saved += read * (base - r) - w5 * (c5 - base) - w1 * (c1 - base)
    read_total = sum(v[0] for v in per.values())
    return {
        "input_tokens": input_tokens,
        "cache_read_tokens": read_total,
        "cache_write_tokens": sum(v[1] + v[2] for v in per.values()),
        "hit_rate": _rate(read_total, input_tokens),
        "saved_usd": _money(saved),
        "saved_is_lower_bound": unknown,
    }


def _latency(facts: Facts) -> list[dict[str, Any]]:
    """p50/p95/p99 per model (nearest rank over the latencies, or the SQL store's buckets)."""
    from tokenomy.ledger._aggregate import histogram_percentile

    per: dict[str, list[tuple[float, int]]] = {}
    for (model, value), n in facts.latency.items():
        per.setdefault(model, []).append((value, n))
    out = []
    for model, buckets in per.items():
        buckets.sort()
        total = sum(n for _, n in buckets)
        out.append(
            {"model": model, "calls": total,
             **{f"p{p}_ms": histogram_percentile(buckets, total, p) for p in (50, 95, 99)},
             "approximate": facts.exact}
        )
    out.sort(key=lambda r: (-r["calls"], str(r["model"])))  # type: ignore[operator]
    return out


def _daily(facts: Facts, since: datetime, until: datetime) -> list[tuple[str, int, Decimal]]:
    per: dict[int, list[Any]] = {}
    for (h, _key), (n, c) in facts.hourly.items():
        slot = per.setdefault(h // 24, [0, _ZERO])
        slot[0] += n
        slot[1] += c
    if not per:
        return []
    first = int(since.timestamp() // 86400) if since.timestamp() > 0 else min(per)
    first = max(first, min(per))
    last = int((until.timestamp() - 1e-6) // 86400)
    last = min(last, max(per)) if per else last
    out = []
    for d in range(first, last + 1):
        n, c = per.get(d, [0, _ZERO])
        out.append(((date(1970, 1, 1) + timedelta(days=d)).isoformat(), n, c))
    return out


def _sections(facts: Facts, names: TagNames, top: int) -> tuple[dict[str, Any], int, Decimal, int]:
    g = [0] * len(SUMS)
    money = [_ZERO] * len(SUMS)
    by: dict[str, dict[str | None, list[Any]]] = {"feature": {}, "model": {}, "user": {}}
    kinds: dict[str | None, list[Any]] = {}
    routes: dict[str | None, list[int]] = {}
    downgraded: list[Any] = [0, _ZERO]
    for (model, _provider, key, _b), v in facts.groups.items():
        for i, x in enumerate(v):
            if isinstance(x, Decimal):
                money[i] += x
            else:
                g[i] += x
        for dim, k in (("feature", key[0]), ("model", model), ("user", key[1])):
            slot = by[dim].setdefault(k, [0, _ZERO, 0, 0])
            slot[0] += v[0]
            slot[1] += v[1]
            slot[2] += v[8]
            slot[3] += v[9]
        tier, start = key[2], key[3]
        if tier is not None:
            r = routes.setdefault(key[0], [0, 0])
            if tier == (start or "0"):
                r[0] += v[0]
            elif start is not None and tier.isdigit() and start.isdigit() and int(tier) > int(start):
                r[1] += v[0]
        if key[5] is not None:
            downgraded[0] += v[0]
            downgraded[1] += v[1]
    calls, cost = g[0], money[1]
    per_type = []
    for feature, (n, c, labelled, usable) in sorted(by["feature"].items(), key=lambda kv: -kv[1][1]):
        per_type.append(
            {"feature": feature, "calls": n, "cost_per_call_usd": _money(c / n) if n else None,
             "usable": usable, "labelled": labelled,
             "cost_per_usable_usd": _money(c / usable) if usable else None}
        )
    del kinds
    sections: dict[str, Any] = {
        "_input_tokens": g[12],
        "tags": {"feature": names.feature, "user": names.user},
        "totals": {"calls": calls, "cost_usd": _money(cost), "unpriced": g[2]},
        "by_feature": _top(by["feature"], cost, top),
        "by_model": _top(by["model"], cost, top),
        "by_user": _top(by["user"], cost, top),
        "pareto": {"feature": _pareto(by["feature"], cost), "user": _pareto(by["user"], cost)},
        "per_request_type": per_type,
        "response_cache": {"hits": g[10], "hit_rate": _rate(g[10], calls),
                           "saved_usd": _money(money[11])},
        "truncation": {"truncated": g[6], "rate": _rate(g[6], calls),
                       "wasted_usd": _money(money[7])},
        "retries": {"retried_attempts": g[5], "retry_rate": _rate(g[5], calls), "failed": g[3],
                    "failure_rate": _rate(g[3], calls), "wasted_usd": _money(money[4])},
        "cascade": [
            {"feature": f, "requests": r[0], "escalations": r[1], "escalation_rate": _rate(r[1], r[0])}
            for f, r in sorted(routes.items(), key=lambda kv: str(kv[0]))
        ],
        "budget": {"downgraded_calls": downgraded[0], "downgraded_cost_usd": _money(downgraded[1]),
                   "note": "refused calls are not sent, so not in the ledger: see `tokenomy budget status`"},
    }
    return sections, calls, cost, g[10]
