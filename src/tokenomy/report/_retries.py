"""Retries and failures in a report: the retry rate, failures by error class, and what the
failed attempts and the retries cost.

Every attempt of a pipeline call is its own ledger record (``attempt`` 1, 2, … under the
call's run; ``error`` the exception's class name when it failed), so the numbers are read
from the report's store: the counts and costs of the first, the retried and the failed
attempts (:class:`~tokenomy.ledger._store.AttemptTotals`; the SQL stores compute them in the
report's totals query, the same read of the records), plus a pass over the failed records
alone for their error classes and over the successful retries for the calls they recovered. Answers served without a provider call
(``attempt`` 0) are left out, as in :func:`tokenomy.retry_summary`.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from tokenomy.resilience._summary import RetrySummary

if TYPE_CHECKING:
    from rich.table import Table

    from tokenomy.report._report import Report

__all__ = ["retries_dict", "retries_table", "retry_totals"]


def retry_totals(report: Report) -> RetrySummary:
    """The report's :class:`~tokenomy.RetrySummary` (see the module docstring)."""
    attempts = report._attempt_totals()
    errors: Counter[str] = Counter()
    failing: set[Any] = set()
    where = report._narrowed(failed=True)
    if attempts.failed and where is not None:
        for r in report._store._iter_views(where):
            errors[str(r.error)] += 1
            if r.attempt >= 1:
                failing.add(r.run_id or r.record_id)
    recovered: set[Any] = set()
    where = report._narrowed(retry=True, failed=False)
    if failing and attempts.retried and where is not None:
        recovered = {r.run_id for r in report._store._iter_views(where)}
    # attempt-0 records (served answers) are never failed attempts of a call
    failed_attempts = sum(errors.values()) if errors else attempts.failed
    return RetrySummary(
        calls=attempts.first,
        attempts=attempts.first + attempts.retried,
        retries=attempts.retried,
        failed_attempts=failed_attempts,
        failed_calls=len(failing - recovered),
        failures_by_error=dict(errors.most_common()),
        wasted_usd=attempts.failed_cost,
        retries_usd=attempts.retried_cost,
    )


def retries_dict(s: RetrySummary) -> dict[str, Any]:
    """JSON-ready: counts, rates and costs (Decimals as plain strings)."""
    from tokenomy.ledger._aggregate import decimal_text

    return {
        "calls": s.calls,
        "attempts": s.attempts,
        "retries": s.retries,
        "retry_rate": round(s.retry_rate, 6),
        "failed_attempts": s.failed_attempts,
        "failure_rate": round(s.failure_rate, 6),
        "failed_calls": s.failed_calls,
        "failures_by_error": dict(s.failures_by_error),
        "wasted_usd": decimal_text(s.wasted_usd),
        "retries_usd": decimal_text(s.retries_usd),
    }


def retries_table(s: RetrySummary) -> Table:
    """The report's "Retries and failures" table: one row per error class under the totals."""
    from rich.table import Table

    from tokenomy.report._format import format_usd

    table = Table(title="Retries and failures", title_justify="left", show_edge=False)
    for name in ("", "Attempts", "Share", "Cost"):
        table.add_column(name, justify="left" if not name else "right")
    table.add_row("Calls (first attempts)", f"{s.calls:,}", "", "")
    table.add_row("Retries", f"{s.retries:,}", f"{s.retry_rate:.1%} of calls",
                  format_usd(s.retries_usd))
    table.add_row("Failed attempts", f"{s.failed_attempts:,}",
                  f"{s.failure_rate:.1%} of attempts", format_usd(s.wasted_usd))
    for error, n in s.failures_by_error.items():
        share = f"{n / s.attempts:.1%}" if s.attempts else "-"
        table.add_row(f"  {error}", f"{n:,}", share, "")
    table.add_row("Calls failed in the end", f"{s.failed_calls:,}",
                  f"{s.failed_calls / s.calls:.1%} of calls" if s.calls else "-", "")
    return table
