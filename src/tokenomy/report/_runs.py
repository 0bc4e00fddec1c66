"""The per-run view of a report: every root run with its calls, in time order, as a tree."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic

from tokenomy.ledger._aggregate import GroupTotals, aggregate_records
from tokenomy.ledger._filter import epoch_us, utc
from tokenomy.ledger._store import AnyRecord

if TYPE_CHECKING:
    from tokenomy.ledger import CostRecord
    from tokenomy.ledger._view import RecordView

__all__ = ["RunCall", "RunReport", "build_runs", "root_of", "time_order"]


def root_of(record: CostRecord | RecordView) -> str:
    """The root run a record belongs to (its own run, or its own id, when it has no root)."""
    return record.root_run_id or record.run_id or record.record_id


def time_order(records: Iterable[AnyRecord]) -> list[AnyRecord]:
    """``records`` oldest first (a stable sort: ties keep their order)."""
    return sorted(records, key=lambda r: epoch_us(r.timestamp))


@dataclass(frozen=True, slots=True)
class RunCall(Generic[AnyRecord]):
    """One call of a run placed in its tree: ``depth`` 1 sits right under the run.

    A call nests under another call of the same run when its ``parent_run_id`` is that
    call's ``run_id``; a call whose parent is the root sits at depth 1. A call whose parent is
    a run that recorded no call of its own (a tool, a chain, a nested ``track()`` block) sits
    under that run: ``group`` is that run's id (the table draws it as its own line at depth
    ``depth - 1``), so a model call inside a tool inside an agent is drawn under the tool.
    """

    record: AnyRecord
    depth: int
    group: str | None = None


@dataclass(frozen=True, slots=True)
class RunReport(Generic[AnyRecord]):
    """One root run: its label, when it started, its calls (oldest first) and their totals.

    ``label`` is the run's ``run_name`` tag, else its first call's ``name``, else
    ``run <id prefix>``. ``start`` is its first call's timestamp and ``end`` its start plus
    its duration (:attr:`duration_ms`): the latest moment a call of it finished, each call
    lasting its latency from its timestamp. ``totals`` holds the run's tokens by kind, cost by dimension, cache
    hits and latency percentiles; its cost is a lower bound when ``totals.unpriced`` > 0.
    The calls are :class:`~tokenomy.ledger.CostRecord` s (:meth:`Report.runs`); a report's own
    output reads them as views (``RunReport[RecordView]``, ``ledger/_view.py``).
    """

    root_run_id: str
    label: str
    start: datetime
    end: datetime
    calls: tuple[AnyRecord, ...]
    totals: GroupTotals

    @property
    def cost(self) -> Decimal:
        """USD the run's calls were charged: the provider's bill where it reported one, else
        the price book's cost (``totals.charged``)."""
        return self.totals.charged

    @property
    def unpriced(self) -> int:
        """How many of the run's calls have neither a known price nor a bill."""
        return self.totals.uncharged

    @property
    def latency_ms(self) -> float | None:
        """Summed latency of the run's calls that report one (``None`` when none does)."""
        values = [r.latency_ms for r in self.calls if r.latency_ms is not None]
        return sum(values) if values else None

    @property
    def duration_ms(self) -> float:
        """Milliseconds from the run's start to its end."""
        return (self.end - self.start) / timedelta(milliseconds=1)

    @property
    def cache_hits(self) -> int:
        """How many of the run's calls were answered from a cache."""
        return self.totals.cache_hits

    def tree(self) -> list[RunCall[AnyRecord]]:
        """The calls depth-first, siblings oldest first, each with its depth under the run."""
        by_run: dict[str, AnyRecord] = {}
        for r in self.calls:
            if r.run_id is not None and r.run_id != self.root_run_id:
                by_run.setdefault(r.run_id, r)
        children: dict[str | None, list[AnyRecord]] = {}
        unrecorded: dict[str, list[AnyRecord]] = {}  # calls under a run without a record
        order: list[tuple[str, Any]] = []  # depth-1 entries: ("call", record) or ("group", id)
        for r in self.calls:
            parent = r.parent_run_id
            if parent in by_run and by_run[parent] is not r:
                children.setdefault(parent, []).append(r)
            elif parent is None or parent == self.root_run_id or parent == r.run_id:
                children.setdefault(None, []).append(r)
                order.append(("call", r))
            else:
                if parent not in unrecorded:
                    order.append(("group", parent))
                unrecorded.setdefault(parent, []).append(r)
        out: list[RunCall[AnyRecord]] = []
        seen: set[int] = set()

        def walk(calls: Sequence[AnyRecord], depth: int, group: str | None) -> None:
            for r in calls:
                if id(r) in seen:  # a malformed cycle: never loop
                    continue
                seen.add(id(r))
                out.append(RunCall(r, depth, group))
                if r.run_id is not None and by_run.get(r.run_id) is r:
                    walk(children.get(r.run_id, ()), depth + 1, None)

        for kind, item in order:
            if kind == "call":
                walk([item], 1, None)
            else:
                walk(unrecorded[item], 2, item)
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
            "cost_complete": self.totals.uncharged == 0,
            "latency_ms": self.latency_ms,
            "totals": totals,
            "duration_ms": self.duration_ms,
            "calls": [
                {**record_json(c.record), "depth": c.depth, "under_run": c.group}
                for c in self.tree()
            ],
        }


def _finished(r: CostRecord | RecordView) -> datetime:
    """When a call finished: its timestamp plus its latency (compared in UTC)."""
    ts = utc(r.timestamp)
    return ts + timedelta(milliseconds=r.latency_ms) if r.latency_ms else ts


def _label(root: str, calls: Sequence[CostRecord | RecordView]) -> str:
    for r in calls:
        name = r.tags.get("run_name")
        if name:
            return name
    if calls and calls[0].name:
        return calls[0].name
    return f"run {root[:8]}"


def build_runs(records: Iterable[AnyRecord]) -> list[RunReport[AnyRecord]]:
    """One :class:`RunReport` per root run among ``records``, oldest start first."""
    groups: dict[str, list[AnyRecord]] = {}
    for r in time_order(records):
        groups.setdefault(root_of(r), []).append(r)
    runs = []
    for root, calls in groups.items():
        totals = aggregate_records(calls)[0]
        runs.append(
            RunReport(
                root_run_id=root,
                label=_label(root, calls),
                start=utc(calls[0].timestamp),
                end=max(_finished(r) for r in calls),
                calls=tuple(calls),
                totals=totals,
            )
        )
    runs.sort(key=lambda run: epoch_us(run.start))
    return runs
