"""What ``tokenomy budget status`` shows: each budget's spend, open reservations, what is
left and when its window resets, read from a store (a read: it changes nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tokenomy.budget._store import BudgetStore, CounterRow, from_nanos, now
from tokenomy.budget._window import Window, parse_window

__all__ = ["BudgetStatus", "budget_status"]


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """One budget (per scope value) in its current window."""

    budget: str
    scope: str
    window: str
    limit_usd: Decimal | None
    limit_tokens: int | None
    spent_usd: Decimal
    reserved_usd: Decimal
    spent_tokens: int
    reserved_tokens: int
    open_reservations: int
    resets_at: datetime | None

    @property
    def remaining_usd(self) -> Decimal | None:
        if self.limit_usd is None:
            return None
        return max(Decimal(0), self.limit_usd - self.spent_usd - self.reserved_usd)

    @property
    def remaining_tokens(self) -> int | None:
        if self.limit_tokens is None:
            return None
        return max(0, self.limit_tokens - self.spent_tokens - self.reserved_tokens)

    def to_dict(self) -> dict[str, Any]:
        def s(v: Any) -> Any:
            return None if v is None else str(v)

        return {
            "budget": self.budget,
            "scope": self.scope,
            "window": self.window,
            "limit_usd": s(self.limit_usd),
            "spent_usd": s(self.spent_usd),
            "reserved_usd": s(self.reserved_usd),
            "remaining_usd": s(self.remaining_usd),
            "limit_tokens": self.limit_tokens,
            "spent_tokens": self.spent_tokens,
            "reserved_tokens": self.reserved_tokens,
            "remaining_tokens": self.remaining_tokens,
            "open_reservations": self.open_reservations,
            "resets_at": None if self.resets_at is None else self.resets_at.isoformat(),
        }


def _window(definition: dict[str, Any]) -> Window | None:
    try:
        return parse_window(definition.get("window", "day"), definition.get("tz") or None)
    except Exception:
        return None


def budget_status(store: BudgetStore, *, at: float | None = None) -> list[BudgetStatus]:
    """Each budget and scope of ``store`` in the window current at ``at`` (default now).
    Per-request and per-run budgets show each request or run still kept."""
    t = now() if at is None else at
    defs = store.definitions()
    groups: dict[tuple[str, str, str], list[CounterRow]] = {}
    windows: dict[str, Window | None] = {name: _window(d) for name, d in defs.items()}
    for row in store.counters():
        window = windows.get(row.budget)
        if window is not None and window.by_clock:
            current = set(window.buckets(t).keys)
            if row.bucket not in current and not row.open_reservations:
                continue  # a past window
            label = window.label
        else:
            label = row.bucket  # request:<id> / run:<id>, or a budget without definition
        groups.setdefault((row.budget, row.scope, label), []).append(row)
    out = []
    for (name, scope, label), rows in sorted(groups.items()):
        d = defs.get(name, {})
        window = windows.get(name)
        limit_usd = d.get("limit_usd")
        out.append(
            BudgetStatus(
                budget=name,
                scope=scope,
                window=label,
                limit_usd=None if limit_usd is None else Decimal(limit_usd),
                limit_tokens=d.get("limit_tokens"),
                spent_usd=from_nanos(sum(r.spent_nanos for r in rows)),
                reserved_usd=from_nanos(sum(r.reserved_nanos for r in rows)),
                spent_tokens=sum(r.spent_tokens for r in rows),
                reserved_tokens=sum(r.reserved_tokens for r in rows),
                open_reservations=sum(r.open_reservations for r in rows),
                resets_at=window.buckets(t).resets_at if window is not None and window.by_clock else None,
            )
        )
    return out
