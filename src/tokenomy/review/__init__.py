"""The cost review (issue 15): what a period cost, what to change and what it would save,
next month's forecast, anomalies, and export to observability tools.

``build_review(store, since=..., until=...)`` reads a ledger's aggregates (never a record per
call on the SQL stores) into a :class:`Review`; ``render_terminal``/``render_html`` show it;
``SpendMonitor`` + ``AlertingLedger`` catch runaways as calls arrive; ``export_otel`` and
``prometheus_text`` hand records and totals to OpenTelemetry and Prometheus.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy.review._anomaly import AlertingLedger, Anomaly, SpendMonitor, find_anomalies
    from tokenomy.review._export import export_otel, prometheus_text
    from tokenomy.review._facts import Facts, TagNames, read_facts
    from tokenomy.review._forecast import (
        Forecast,
        Scenario,
        apply_scenario,
        forecast_daily,
        parse_scenario,
    )
    from tokenomy.review._html import render_html
    from tokenomy.review._recommend import Recommendation, recommend
    from tokenomy.review._review import Review, build_review
    from tokenomy.review._terminal import render_terminal

_LAZY = {
    "AlertingLedger": "tokenomy.review._anomaly",
    "Anomaly": "tokenomy.review._anomaly",
    "Facts": "tokenomy.review._facts",
    "Forecast": "tokenomy.review._forecast",
    "Recommendation": "tokenomy.review._recommend",
    "Review": "tokenomy.review._review",
    "Scenario": "tokenomy.review._forecast",
    "SpendMonitor": "tokenomy.review._anomaly",
    "TagNames": "tokenomy.review._facts",
    "apply_scenario": "tokenomy.review._forecast",
    "build_review": "tokenomy.review._review",
    "export_otel": "tokenomy.review._export",
    "find_anomalies": "tokenomy.review._anomaly",
    "forecast_daily": "tokenomy.review._forecast",
    "parse_scenario": "tokenomy.review._forecast",
    "prometheus_text": "tokenomy.review._export",
    "read_facts": "tokenomy.review._facts",
    "recommend": "tokenomy.review._recommend",
    "render_html": "tokenomy.review._html",
    "render_terminal": "tokenomy.review._terminal",
}

__all__ = [
    "AlertingLedger",
    "Anomaly",
    "Facts",
    "Forecast",
    "Recommendation",
    "Review",
    "Scenario",
    "SpendMonitor",
    "TagNames",
    "apply_scenario",
    "build_review",
    "export_otel",
    "find_anomalies",
    "forecast_daily",
    "parse_scenario",
    "prometheus_text",
    "read_facts",
    "recommend",
    "render_html",
    "render_terminal",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenomy.review' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
