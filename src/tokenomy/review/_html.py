"""The review as one self-contained HTML file: plotly charts (plotly.js inlined once, the data
in the page: no network when it is opened), tables, print styles.

Charts: daily spend with the 30-day forecast and its 95% interval, spend by feature and by
model, cache hit rates. Needs the ``review`` extra (``pip install 'tokenomy[review]'``).
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from tokenomy.review._review import Review

__all__ = ["render_html"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#1d2430}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.15em;margin-top:28px;border-bottom:1px solid #dde}
.sub{color:#667}.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.chart{border:1px solid #e4e6ee;border-radius:6px;padding:4px;break-inside:avoid;page-break-inside:avoid}
table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border-bottom:1px solid #eef;padding:4px 6px;text-align:left}
td.n,th.n{text-align:right}.kpi{display:flex;gap:24px;flex-wrap:wrap;margin:12px 0}
.kpi div{background:#f5f7fb;border-radius:6px;padding:8px 14px}.kpi b{display:block;font-size:1.3em}
.bad{color:#b3261e}
@media print{body{margin:0;max-width:none}.grid{grid-template-columns:1fr 1fr}h2{break-after:avoid}
table,.kpi,.chart{break-inside:avoid}}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _plotly() -> Any:
    try:
        import plotly.graph_objects as go
        import plotly.offline
    except ImportError as exc:  # pragma: no cover - the extra is installed in the project
        raise MissingDependencyError("plotly", "review", "the HTML review") from exc
    return go, plotly.offline


def _fig_html(fig: Any, div_id: str) -> str:
    fig.update_layout(
        margin={"l": 50, "r": 20, "t": 40, "b": 40}, height=320, template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    body: str = fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=div_id,
        config={"displayModeBar": False, "responsive": True},
    )
    return f'<div class="chart">{body}</div>'


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int]) -> str:
    head = "".join(f'<th class="{"n" if i in numeric else ""}">{_e(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"n" if i in numeric else ""}">{_e(c)}</td>' for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def render_html(review: Review) -> str:
    """The review as a self-contained HTML page."""
    go, offline = _plotly()
    data = review.to_json_dict()
    days = [d for d, _, _ in review.daily]
    spend = [float(c) for _, _, c in review.daily]
    f = review.forecast
    last = date.fromisoformat(days[-1]) if days else review.until.date()
    fdays = [(last + timedelta(days=d.day)).isoformat() for d in f.days]
    over_time = go.Figure()
    over_time.add_trace(go.Bar(x=days, y=spend, name="daily spend $", marker_color="#3b6fd8"))
    over_time.add_trace(
        go.Scatter(x=fdays + fdays[::-1], y=[d.high for d in f.days] + [d.low for d in f.days][::-1],
                   fill="toself", fillcolor="rgba(232,131,44,0.2)", line={"width": 0},
                   name="95% interval", hoverinfo="skip")
    )
    over_time.add_trace(
        go.Scatter(x=fdays, y=[d.point for d in f.days], name="forecast $", line={"color": "#e8832c"})
    )
    over_time.update_layout(title="Spend over time and the next 30 days")

    def bars(rows: list[dict[str, Any]], title: str, color: str) -> Any:
        fig = go.Figure(
            go.Bar(x=[float(r["cost_usd"]) for r in rows][::-1], y=[str(r["key"]) for r in rows][::-1],
                   orientation="h", marker_color=color)
        )
        fig.update_layout(title=title, xaxis_title="$")
        return fig

    rc, pc = data["response_cache"], data["prompt_cache"]
    cache = go.Figure(
        go.Bar(x=["response cache (calls)", "prompt cache (input tokens)"],
               y=[rc["hit_rate"] or 0.0, pc["hit_rate"] or 0.0], marker_color=["#2f9e72", "#7a5bd6"],
               text=[_pct(rc["hit_rate"]), _pct(pc["hit_rate"])], textposition="auto")
    )
    cache.update_layout(title="Cache hit rates", yaxis={"tickformat": ".0%", "range": [0, 1]})
    charts = [
        _fig_html(over_time, "chart-spend"),
        _fig_html(bars(data["by_feature"], "Spend by feature", "#3b6fd8"), "chart-feature"),
        _fig_html(bars(data["by_model"], "Spend by model", "#c2457a"), "chart-model"),
        _fig_html(cache, "chart-cache"),
    ]
    t = data["totals"]
    prev = data["previous_period"]
    change = "-" if prev["change"] is None else f"{prev['change']:+.1%}"
    kpis = (
        f'<div class="kpi"><div>spend<b>${_e(t["cost_usd"])}</b></div>'
        f'<div>calls<b>{t["calls"]:,}</b></div><div>vs period before<b>{_e(change)}</b></div>'
        f'<div>forecast, 30 days<b>${f.total:,.2f}</b>${f.low:,.2f}–${f.high:,.2f}</div>'
        f'<div>projected saving / month<b>${_e(data["projected_monthly_saving_usd"])}</b></div></div>'
    )
    recs = _table(
        ["change", "evidence", "saving $/month"],
        [[r["title"], ", ".join(f"{k}={v}" for k, v in r["evidence"].items()), r["monthly_saving_usd"]]
         for r in data["recommendations"]],
        {2},
    )
    lat = _table(
        ["model", "calls", "p50 ms", "p95 ms", "p99 ms"],
        [[r["model"], r["calls"], *("-" if r[k] is None else f"{r[k]:.0f}" for k in ("p50_ms", "p95_ms", "p99_ms"))]
         for r in data["latency_by_model"]],
        {1, 2, 3, 4},
    )
    tr, rt = data["truncation"], data["retries"]
    waste = _table(
        ["what", "rate", "wasted $"],
        [["truncated responses", _pct(tr["rate"]), tr["wasted_usd"]],
         ["retried attempts", _pct(rt["retry_rate"]), "-"],
         ["failed attempts", _pct(rt["failure_rate"]), rt["wasted_usd"]],
         ["response cache hits", _pct(rc["hit_rate"]), f"saved {rc['saved_usd']}"],
         ["prompt cache (tokens)", _pct(pc["hit_rate"]), f"saved {pc['saved_usd']}"]]
        + [[f"cascade {c['feature']} escalations", _pct(c["escalation_rate"]), "-"] for c in data["cascade"]],
        {1, 2},
    )
    anomalies = (
        "<p>None.</p>" if not review.anomalies
        else "<ul>" + "".join(f'<li class="bad">{_e(a.describe())}</li>' for a in review.anomalies) + "</ul>"
    )
    scen = "".join(
        f"<li>What if {_e(s['scenario'])}: ${_e(s['scenario_spend_usd'])} ({_e(s['note'])})</li>"
        for s in data["scenarios"]
    )
    js = offline.get_plotlyjs()
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>tokenomy cost review {_e(data['since'][:10])} – {_e(data['until'][:10])}</title>"
        f"<style>{_CSS}</style><script>{js}</script></head><body>"
        f"<h1>Cost review</h1><p class=\"sub\">{_e(data['since'][:10])} → {_e(data['until'][:10])} · "
        f"generated by tokenomy</p>{kpis}"
        f'<div class="grid">{"".join(charts)}</div>'
        f"<h2>Recommendations</h2>{recs}"
        f"<h2>Waste and caching</h2>{waste}"
        f"<h2>Latency</h2>{lat}"
        f"<h2>Forecast and scenarios</h2><p>{_e(f.model)}: ${f.total:,.2f} "
        f"(95% interval ${f.low:,.2f}–${f.high:,.2f})</p><ul>{scen}</ul>"
        f"<h2>Anomalies</h2>{anomalies}"
        "</body></html>"
    )
