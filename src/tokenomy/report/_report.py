"""The :class:`Report`: totals, groups, runs and call-outs over a set of cost records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from tokenomy.ledger import GroupTotals, aggregate_records
from tokenomy.ledger._filter import epoch_us, is_estimated
from tokenomy.report._runs import RunReport, build_runs, time_order

if TYPE_CHECKING:
    from rich.console import Console

    from tokenomy.ledger import CostRecord, LedgerStore, RecordFilter

__all__ = ["CsvKind", "Report"]

CsvKind = Literal["groups", "records", "runs"]

#: How :meth:`Report.render`, :meth:`Report.to_dict` and :meth:`Report.to_csv` group spend
#: unless told otherwise.
DEFAULT_BY: tuple[str, ...] = ("model",)


def _names(by: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(by, str):
        return tuple(n.strip() for n in by.split(",") if n.strip())
    return tuple(by)


class Report:
    """What a set of cost records used and cost, and who spent it.

    Build one from a tracker (``tracker.report()``), from records (``Report(records)``) or from
    a ledger (:meth:`from_ledger`). Costs are exact :class:`~decimal.Decimal` sums over the
    priced records; unpriced records are counted apart (``unpriced``), never as $0, so any
    total that includes them is a lower bound.
    """

    def __init__(self, records: Iterable[CostRecord]) -> None:
        self._records: tuple[CostRecord, ...] = tuple(time_order(records))

    @classmethod
    def from_ledger(cls, ledger: LedgerStore | str, where: RecordFilter | None = None) -> Report:
        """A report over the records of ``ledger`` (a store, or a spec for ``open_ledger``)."""
        if isinstance(ledger, str):
            from tokenomy.ledger import open_ledger

            with open_ledger(ledger) as store:
                return cls(store.query(where))
        return cls(ledger.query(where))

    # -- the records ------------------------------------------------------------------------

    @property
    def records(self) -> list[CostRecord]:
        """Every record of the report, oldest first."""
        return list(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __bool__(self) -> bool:
        return bool(self._records)

    # -- totals and groups ------------------------------------------------------------------

    @cached_property
    def totals(self) -> GroupTotals:
        """Totals over every record (``key`` is ``{}``): calls, cost, tokens, cache, latency."""
        groups = aggregate_records(self._records)
        return groups[0] if groups else GroupTotals(key={})

    def by(self, *names: str) -> list[GroupTotals]:
        """Totals per group, most expensive first: ``by("feature")``, ``by("user", "feature")``.

        Names are tag keys or the built-ins ``model``, ``provider``, ``kind``, ``day`` and
        ``run`` (see :func:`~tokenomy.ledger.aggregate_records`); ``"feature,user"`` works too.
        Records lacking a tag fall in the group whose key value is ``None``. Ties on cost put
        the group with more unpriced calls first, then keep key order.
        """
        keys: tuple[str, ...] = ()
        for n in names:
            keys += _names(n)
        groups = aggregate_records(self._records, keys)
        return sorted(groups, key=lambda g: (-g.cost, -g.unpriced))

    # -- runs and calls ---------------------------------------------------------------------

    @cached_property
    def _runs(self) -> tuple[RunReport, ...]:
        return tuple(build_runs(self._records))

    def runs(self, limit: int | None = None) -> list[RunReport]:
        """Each root run with its calls, oldest start first; ``limit`` keeps the latest ones."""
        runs = list(self._runs)
        if limit is not None:
            runs = runs[-limit:] if limit > 0 else []
        return runs

    def most_expensive(self, n: int = 10) -> list[CostRecord]:
        """The ``n`` priced calls that cost the most (earlier first on ties)."""
        priced = [r for r in self._records if r.cost is not None]
        priced.sort(key=lambda r: (-r.cost.total if r.cost else 0, epoch_us(r.timestamp)))
        return priced[: max(n, 0)]

    def unpriced(self) -> list[CostRecord]:
        """Records whose model has no known price: their cost is unknown, not zero."""
        return [r for r in self._records if r.cost is None]

    def estimated(self) -> list[CostRecord]:
        """Records whose token counts were estimated locally, not reported by the provider."""
        return [r for r in self._records if is_estimated(r)]

    def unpriced_models(self) -> dict[str, int]:
        """Models that need a price, with how many calls each made (most calls first)."""
        return dict(Counter(r.model for r in self.unpriced()).most_common())

    # -- output -----------------------------------------------------------------------------

    def to_dict(
        self,
        *,
        by: Sequence[str] | str = DEFAULT_BY,
        top: int = 10,
        runs: int | None = None,
    ) -> dict[str, Any]:
        """JSON-ready dict with stable keys; Decimals as strings (see ``_export``)."""
        from tokenomy.report._export import report_dict

        return report_dict(self, by=_names(by), top=top, runs=runs)

    def to_json(
        self,
        *,
        by: Sequence[str] | str = DEFAULT_BY,
        top: int = 10,
        runs: int | None = None,
        indent: int | None = 2,
    ) -> str:
        """:meth:`to_dict` as JSON text."""
        import json

        return json.dumps(self.to_dict(by=by, top=top, runs=runs), indent=indent)

    def to_csv(self, kind: CsvKind = "groups", *, by: Sequence[str] | str = DEFAULT_BY) -> str:
        """CSV text: one row per group (``groups``, grouped by ``by``), record, or root run."""
        from tokenomy.report._export import report_csv

        return report_csv(self, kind, by=_names(by))

    def render(
        self,
        console: Console | None = None,
        *,
        by: Sequence[str] | str = DEFAULT_BY,
        top: int = 5,
        runs: int | None = 10,
    ) -> None:
        """Print the report as rich tables (to ``console``, else a new one on stdout).

        Totals; the latest ``runs`` root runs with their calls indented under them; spend
        grouped by ``by``; the ``top`` most expensive calls; and a warning panel naming the
        unpriced models (and estimated usage) when there is any.
        """
        from tokenomy.report._render import render_report

        render_report(self, console, by=_names(by), top=top, runs=runs)

    def __repr__(self) -> str:
        t = self.totals
        return f"Report(calls={t.count}, cost={t.cost}, unpriced={t.unpriced})"
