"""``retry_summary(records)``: what retries and failures cost, read from ledger records.

Every attempt is its own record (``attempt`` 1, 2, … under the call's run, ``error`` the
exception's class name when it failed), so the numbers come from any ledger's records:
calls, attempts, the retry rate, failures by error class, and the cost of failed attempts
(billed when a provider generated before failing; 0 for most errors).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["RetrySummary", "retry_summary"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrySummary:
    """Calls (distinct runs that reached a provider), attempts, retries (attempts after the
    first), failed attempts and calls that failed in the end, failures by error class,
    ``wasted_usd``: the cost of the failed attempts, and ``retries_usd``: the cost of the
    retried attempts, failed or not (unpriced ones count 0)."""

    calls: int
    attempts: int
    retries: int
    failed_attempts: int
    failed_calls: int
    failures_by_error: dict[str, int] = field(default_factory=dict)
    wasted_usd: Decimal = Decimal(0)
    retries_usd: Decimal = Decimal(0)

    @property
    def retry_rate(self) -> float:
        """Retries per call."""
        return self.retries / self.calls if self.calls else 0.0

    @property
    def failure_rate(self) -> float:
        """Failed attempts per attempt."""
        return self.failed_attempts / self.attempts if self.attempts else 0.0


def retry_summary(records: Iterable[Any]) -> RetrySummary:
    """Summarise ``records`` (``CostRecord``/``StoredCall``s, e.g. ``ledger.query()``);
    answers served without a provider call (attempt 0) are left out."""
    last: dict[Any, tuple[int, bool]] = {}
    attempts = retries = failed = 0
    errors: Counter[str] = Counter()
    wasted = retried = Decimal(0)
    for r in records:
        n = int(getattr(r, "attempt", 1) or 0)
        if n < 1:
            continue
        attempts += 1
        retries += n > 1
        cost = getattr(r, "total_cost", None)
        if n > 1 and isinstance(cost, Decimal):
            retried += cost
        error = getattr(r, "error", None)
        if error:
            failed += 1
            errors[str(error)] += 1
            wasted += cost if isinstance(cost, Decimal) else Decimal(0)
        run = getattr(r, "run_id", None) or id(r)
        if run not in last or last[run][0] < n:
            last[run] = (n, bool(error))
    return RetrySummary(
        calls=len(last),
        attempts=attempts,
        retries=retries,
        failed_attempts=failed,
        failed_calls=sum(1 for _, bad in last.values() if bad),
        failures_by_error=dict(errors.most_common()),
        wasted_usd=wasted,
        retries_usd=retried,
    )
