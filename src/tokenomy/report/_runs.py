"""The per-run view of a report: every root run with its calls, in time order, as a tree."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.ledger import GroupTotals, aggregate_records
from tokenomy.ledger._filter import epoch_us

if TYPE_CHECKING:
    from tokenomy.ledger import CostRecord

__all__ = ["RunCall", "RunReport", "build_runs", "root_of", "time_order"]


def root_of(record: CostRecord) -> str:
    """The root run a record belongs to (its own run, or its own id, when it has no root)."""
    return record.root_run_id or record.run_id or record.record_id


def time_order(records: Iterable[CostRecord]) -> list[CostRecord]:
    """``records`` oldest first (a stable sort: ties keep their order)."""
    return sorted(records, key=lambda r: epoch_us(r.timestamp))


@dataclass(frozen=True, slots=True)
class RunCall:
    """One call of a run placed in its tree: ``depth`` 1 sits right under the run.

    A call nests under another call of the same run when its ``parent_run_id`` is that
    call's ``run_id``; a call whose parent is the root, or a run that made no call of its own
    (a chain, a nested ``track()`` block), sits at depth 1.
    """

    record: CostRecord
    depth: int


@dataclass(frozen=True, slots=True)
class RunReport:
    """One root run: its label, when it started, its calls (oldest first) and their totals.

    ``label`` is the run's ``run_name`` tag, else its first call's ``name``, else
    ``run <id prefix>``. ``totals`` holds the run's tokens by kind, cost by dimension, cache
    hits and latency percentiles; its cost is a lower bound when ``totals.unpriced`` > 0.
    """

    root_run_id: str
    label: str
    start: datetime
    end: datetime
    calls: tuple[CostRecord, ...]
    totals: GroupTotals

    @property
    def cost(self) -> Decimal:
        """USD spent by the run's priced calls."""
        return self.totals.cost

    @property
    def unpriced(self) -> int:
        """How many of the run's calls have no known price."""
        return self.totals.unpriced

    @property
    def latency_ms(self) -> float | None:
        """Summed latency of the run's calls that report one (``None`` when none does)."""
        values = [r.latency_ms for r in self.calls if r.latency_ms is not None]
        return sum(values) if values else None

    @property
    def cache_hits(self) -> int:
        """How many of the run's calls were answered from a cache."""
        return self.totals.cache_hits

    def tree(self) -> list[RunCall]:
        """The calls depth-first, siblings oldest first, each with its depth under the run."""
        by_run: dict[str, CostRecord] = {}
        for r in self.calls:
            if r.run_id is not None and r.run_id != self.root_run_id:
                by_run.setdefault(r.run_id, r)
        children: dict[str | None, list[CostRecord]] = {}
        for r in self.calls:
            parent = r.parent_run_id
            if parent not in by_run or by_run[parent] is r:
                parent = None
            children.setdefault(parent, []).append(r)
        out: list[RunCall] = []
        seen: set[int] = set()

        def walk(parent: str | None, depth: int) -> None:
            for r in children.get(parent, ()):
                if id(r) in seen:  # a malformed cycle: never loop
                    continue
                seen.add(id(r))
                out.append(RunCall(r, depth))
                if r.run_id is not None and by_run.get(r.run_id) is r:
                    walk(r.run_id, depth + 1)

        walk(None, 1)
        # Calls caught in a parent cycle are unreachable from the root: list them flat.
        out.extend(RunCall(r, 1) for r in self.calls if id(r) not in seen)
        return out

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready dict: Decimals as strings; each call with its depth in the tree."""
        from tokenomy.report._export import record_json

        totals = self.totals.to_json_dict()
        del totals["key"]
        return {
            "root_run_id": self.root_run_id,
            "label": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "cost_complete": self.totals.unpriced == 0,
            "latency_ms": self.latency_ms,
            "totals": totals,
            "calls": [{**record_json(c.record), "depth": c.depth} for c in self.tree()],
        }


def _label(root: str, calls: Sequence[CostRecord]) -> str:
    for r in calls:
        name = r.tags.get("run_name")
        if name:
            return name
    if calls and calls[0].name:
        return calls[0].name
    return f"run {root[:8]}"


def build_runs(records: Iterable[CostRecord]) -> list[RunReport]:
    """One :class:`RunReport` per root run among ``records``, oldest start first."""
    groups: dict[str, list[CostRecord]] = {}
    for r in time_order(records):
        groups.setdefault(root_of(r), []).append(r)
    runs = []
    for root, calls in groups.items():
        totals = aggregate_records(calls)[0]
        runs.append(
            RunReport(
                root_run_id=root,
                label=_label(root, calls),
                start=calls[0].timestamp,
                end=calls[-1].timestamp,
                calls=tuple(calls),
                totals=totals,
            )
        )
    runs.sort(key=lambda run: epoch_us(run.start))
    return runs
