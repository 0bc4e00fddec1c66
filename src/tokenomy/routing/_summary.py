"""What a cascade did, from its ledger records' tags: escalation rate, cost per tier, cost per
usable output. Computed here, over any records (a ledger's ``query()``, a tracker's), so the
report package needs no change."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["RoutingSummary", "routing_summary"]


@dataclass(slots=True, kw_only=True)
class RoutingSummary:
    """Routed calls (runs with ``route_tier`` tags) and what they cost.

    ``calls``: routed calls; ``attempts``: model calls they made; ``escalated``: calls
    answered by a tier above the first one tried; ``cost``: all
    their attempts (rejected answers included); ``cost_per_tier``/``answered_per_tier`` by
    model; ``unpriced``: attempts with no price (cost is then a lower bound).
    """

    calls: int = 0
    attempts: int = 0
    escalated: int = 0
    cost: Decimal = Decimal(0)
    unpriced: int = 0
    cost_per_tier: dict[str, Decimal] = field(default_factory=dict)
    attempts_per_tier: dict[str, int] = field(default_factory=dict)
    answered_per_tier: dict[str, int] = field(default_factory=dict)

    @property
    def escalation_rate(self) -> float:
        """Share of routed calls escalated."""
        return self.escalated / self.calls if self.calls else 0.0

    @property
    def cost_per_call(self) -> Decimal | None:
        """Cost per routed call (per usable output: the answer every call returns)."""
        return self.cost / self.calls if self.calls else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (money as strings)."""
        return {
            "calls": self.calls,
            "attempts": self.attempts,
            "escalated": self.escalated,
            "escalation_rate": round(self.escalation_rate, 4),
            "cost_usd": str(self.cost),
            "cost_per_call_usd": None if self.cost_per_call is None else str(self.cost_per_call),
            "unpriced_attempts": self.unpriced,
            "cost_per_tier_usd": {k: str(v) for k, v in self.cost_per_tier.items()},
            "attempts_per_tier": dict(self.attempts_per_tier),
            "answered_per_tier": dict(self.answered_per_tier),
        }


def routing_summary(records: Iterable[Any]) -> RoutingSummary:
    """Summarise the routed calls among ``records`` (:class:`~tokenomy.CostRecord`\\ s)."""
    summary = RoutingSummary()
    runs: dict[Any, list[Any]] = {}
    for record in records:
        if "route_tier" in record.tags:
            runs.setdefault(record.run_id, []).append(record)
    for records_of_run in runs.values():
        summary.calls += 1
        first_tier = min(int(r.tags["route_tier"]) for r in records_of_run)
        answered = None
        for record in records_of_run:
            model = record.tags.get("route_model", record.model)
            summary.attempts += 1
            summary.attempts_per_tier[model] = summary.attempts_per_tier.get(model, 0) + 1
            total = record.cost.total if record.cost is not None else None
            if total is None:
                summary.unpriced += 1
            else:
                summary.cost += total
                summary.cost_per_tier[model] = summary.cost_per_tier.get(model, Decimal(0)) + total
            if record.tags.get("route_accepted") == "true":
                answered = record
        if answered is not None:
            model = answered.tags.get("route_model", answered.model)
            summary.answered_per_tier[model] = summary.answered_per_tier.get(model, 0) + 1
            if int(answered.tags["route_tier"]) > first_tier:
                summary.escalated += 1
    return summary
