"""The review in a terminal: rich tables, a sparkline of daily spend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from tokenomy.review._review import Review

__all__ = ["render_terminal", "sparkline"]

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    """One character per value, scaled between the smallest and the largest."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = hi - lo
    return "".join(_BARS[0 if span == 0 else min(7, int((v - lo) / span * 8))] for v in values)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def render_terminal(review: Review, console: Console, *, alerts_only: bool = False) -> None:
    """Print ``review`` (``alerts_only``: the anomalies alone)."""
    from rich.table import Table

    data = review.to_json_dict()
    if alerts_only:
        _anomalies(review, console)
        return
    t = data["totals"]
    prev = data["previous_period"]
    change = "" if prev["change"] is None else f" ({prev['change']:+.1%} on the period before)"
    console.print(
        f"[bold]Cost review[/bold] {data['since'][:10]} → {data['until'][:10]}: "
        f"${t['cost_usd']} over {t['calls']:,} calls{change}"
    )
    if review.daily:
        console.print(f"daily spend  {sparkline([float(c) for _, _, c in review.daily])}")
    for title, rows in (
        ("Spend by feature", data["by_feature"]),
        ("Spend by model", data["by_model"]),
        ("Spend by user", data["by_user"]),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column("key")
        table.add_column("calls", justify="right")
        table.add_column("cost $", justify="right")
        table.add_column("share", justify="right")
        for r in rows:
            table.add_row(str(r["key"]), f"{r['calls']:,}", r["cost_usd"], _pct(r["share"]))
        console.print(table)
    for dim, p in data["pareto"].items():
        if p:
            console.print(
                f"Pareto: {p['keys']} of {p['of']} {dim}s ({p['key_share']:.0%}) make "
                f"{p['cost_share']:.0%} of the cost"
            )
    rc, pc, tr, rt = data["response_cache"], data["prompt_cache"], data["truncation"], data["retries"]
    console.print(
        f"response cache: {_pct(rc['hit_rate'])} hits, saved ${rc['saved_usd']} · prompt cache: "
        f"{_pct(pc['hit_rate'])} of input tokens, saved ${pc['saved_usd']}\n"
        f"truncated: {_pct(tr['rate'])} (${tr['wasted_usd']}) · retried attempts: "
        f"{_pct(rt['retry_rate'])} · failed: {_pct(rt['failure_rate'])} (${rt['wasted_usd']} wasted)"
    )
    for c in data["cascade"]:
        console.print(
            f"cascade {c['feature']}: {c['requests']:,} requests, escalated {_pct(c['escalation_rate'])}"
        )
    lat = Table(title="Latency by model (ms)", title_justify="left")
    for col in ("model", "calls", "p50", "p95", "p99"):
        lat.add_column(col, justify="left" if col == "model" else "right")
    for r in data["latency_by_model"]:
        lat.add_row(
            str(r["model"]), f"{r['calls']:,}",
            *("-" if r[k] is None else f"{r[k]:.0f}" for k in ("p50_ms", "p95_ms", "p99_ms")),
        )
    console.print(lat)
    rec = Table(title="Recommendations", title_justify="left")
    rec.add_column("change")
    rec.add_column("evidence")
    rec.add_column("saving $/month", justify="right")
    for r in review.recommendations:
        ev = ", ".join(f"{k}={v}" for k, v in r.to_json_dict()["evidence"].items())
        rec.add_row(r.title, ev, r.to_json_dict()["monthly_saving_usd"])
    console.print(rec)
    f = data["forecast"]
    console.print(
        f"Forecast, next 30 days ({f['model']}): ${f['total_usd']:.2f} "
        f"(95% interval ${f['low_usd']:.2f}–${f['high_usd']:.2f})"
    )
    for s in data["scenarios"]:
        console.print(f"What if {s['scenario']}: ${s['scenario_spend_usd']} ({s['note']})")
    _anomalies(review, console)


def _anomalies(review: Review, console: Any) -> None:
    if not review.anomalies:
        console.print("No anomalies.")
        return
    console.print(f"[bold red]{len(review.anomalies)} anomalies[/bold red]")
    for a in review.anomalies:
        console.print(f"  {a.describe()}")
