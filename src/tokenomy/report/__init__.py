"""Reports over cost records: totals, spend by tag or model, per-run trees, call-outs.

``Report(records)`` (or ``tracker.report()``, or ``Report.from_ledger(ledger, where=...)``)
gives exact Decimal totals, ``by(...)`` groups, ``runs()``, ``most_expensive(n)``, the
``unpriced()`` and ``estimated()`` records, provider ``prompt_cache()`` figures, JSON/CSV output and rich tables (``render()``;
rich is imported only then).
"""

from __future__ import annotations

from tokenomy.report._format import format_cost, format_usd
from tokenomy.report._prompt_cache import PromptCache
from tokenomy.report._report import Report
from tokenomy.report._runs import RunCall, RunReport

__all__ = ["PromptCache", "Report", "RunCall", "RunReport", "format_cost", "format_usd"]
