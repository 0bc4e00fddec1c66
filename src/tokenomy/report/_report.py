"""The :class:`Report`: totals, groups, runs and call-outs over a set of cost records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from typing import IO, TYPE_CHECKING, Any, Literal

from tokenomy.exceptions import LedgerError
from tokenomy.ledger import GroupTotals, LedgerStore
from tokenomy.ledger._filter import RecordFilter
from tokenomy.ledger._store import AttemptTotals, RunPage
from tokenomy.report._runs import RunReport, build_runs, time_order

if TYPE_CHECKING:
    from rich.console import Console

    from tokenomy.batch._summary import BatchSavings
    from tokenomy.ledger import CostRecord
    from tokenomy.ledger._view import RecordView
    from tokenomy.placement._unread import UnreadWrites
    from tokenomy.report._prompt_cache import PromptCache
    from tokenomy.resilience import RetrySummary

__all__ = ["CsvKind", "Report"]

CsvKind = Literal["groups", "records", "runs"]

#: How many unpriced (and estimated) records :meth:`Report.to_dict` lists, newest first; their
#: counts are in the totals.
LISTED = 100


class _Records(LedgerStore):
    """A fixed set of records as a store (``Report(records)``): every figure is the pure
    ``aggregate_records`` of them (the reference the stores are tested against)."""

    def __init__(self, records: Iterable[CostRecord]) -> None:
        self._all: tuple[CostRecord, ...] = tuple(time_order(records))

    def add_many(self, records: Iterable[CostRecord]) -> None:
        raise LedgerError("a Report's records cannot be added to")

    def close(self) -> None:
        """Nothing to release."""

    def query(
        self,
        where: RecordFilter | None = None,
        *,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[CostRecord]:
        out = [r for r in self._all if where is None or where.matches(r)]
        if newest_first:
            out.reverse()
        return out if limit is None else out[:limit]

    def count(self, where: RecordFilter | None = None) -> int:
        return len(self._all) if where is None else len(self.query(where))

    def mark_usable(self, record_id: str, usable: bool) -> bool:
        raise LedgerError("a Report's records cannot be changed")

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

    A report over a ledger reads nothing up front: each figure is asked of the store when
    first needed (the SQL stores compute totals, groups, the most expensive calls and the shown
    page of runs in SQL, loading only the records shown), then kept. Keep the store open while
    using the report.
    """

    def __init__(self, records: Iterable[CostRecord]) -> None:
        self._store: LedgerStore = _Records(records)
        self._where: RecordFilter | None = None
        self._owned = False
        self._groups: dict[tuple[str, ...], list[GroupTotals]] = {}
        self._pages: dict[int | None, RunPage[RecordView]] = {}
        self._prompt: dict[tuple[str, ...], list[PromptCache]] = {}
        self._batch: BatchSavings | None = None
        self._unread: dict[tuple[str, ...], list[UnreadWrites]] = {}
        self._attempts: AttemptTotals | None = None

    @classmethod
    def from_ledger(cls, ledger: LedgerStore | str, where: RecordFilter | None = None) -> Report:
        """A report over the records of ``ledger`` matching ``where``, computed by the store.

        ``ledger`` is a store, or a spec for ``open_ledger`` (opened read-only: nothing is
        created or migrated; the report owns it and :meth:`close` closes it).
        """
        report = cls(())
        if isinstance(ledger, str):
            from tokenomy.ledger._open import open_ledger_read_only

            report._store = open_ledger_read_only(ledger)
            report._owned = True
        else:
            report._store = ledger
        report._where = where
        return report

    def close(self) -> None:
        """Close the store this report opened itself (``from_ledger`` with a spec)."""
        if self._owned:
            self._store.close()

    def __enter__(self) -> Report:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the records ------------------------------------------------------------------------

    @property
    def records(self) -> list[CostRecord]:
        """Every record of the report, oldest first (read in full: use :meth:`iter_records`
        for a large ledger)."""
        return list(self.iter_records())

    def iter_records(self) -> Iterator[CostRecord]:
        """Every record of the report, oldest first, one at a time (the SQL stores stream
        them in constant memory)."""
        return self._store.iter_records(self._where)

    def _shown_records(self) -> Iterator[RecordView]:
        """:meth:`iter_records` as views, for output."""
        return self._store._iter_views(self._where)

    def __len__(self) -> int:
        return self.totals.count

    def __bool__(self) -> bool:
        return self.totals.count > 0

    # -- totals and groups ------------------------------------------------------------------

    @cached_property
    def totals(self) -> GroupTotals:
        """Totals over every record (``key`` is ``{}``): calls, cost, tokens, cache, latency."""
        groups = self._aggregate(())
        return groups[0] if groups else GroupTotals(key={})

    def prepare(self, *bys: Sequence[str] | str) -> None:
        """Compute the totals and these groupings together (one query on a SQL store) and
        keep them: what :meth:`render` and :meth:`to_dict` do first."""
        wanted = [()] + [_names(b) if isinstance(b, str) else tuple(b) for b in bys]
        missing = [k for k in dict.fromkeys(wanted) if k not in self._groups]
        if missing:
            found, attempts = self._store.aggregate_report(missing, self._where)
            for keys, groups in zip(missing, found, strict=True):
                self._groups[keys] = groups
            if self._attempts is None:
                self._attempts = attempts

    def _attempt_totals(self) -> AttemptTotals:
        """The first, retried and failed attempts (read with the totals when prepared)."""
        if self._attempts is None:
            self._attempts = self._store.attempt_totals(self._where)
        return self._attempts

    def _aggregate(self, keys: tuple[str, ...]) -> list[GroupTotals]:
        groups = self._groups.get(keys)
        if groups is None:
            groups = self._groups[keys] = self._store.aggregate(keys, self._where)
        return groups

    def by(self, *names: str) -> list[GroupTotals]:
        """Totals per group, most expensive first: ``by("feature")``, ``by("user", "feature")``.

        Names are tag keys or the built-ins ``model``, ``provider``, ``kind``, ``hour``,
        ``day``, ``month`` and ``run`` (see :func:`~tokenomy.ledger.aggregate_records`);
        ``"feature,user"`` works too. Records lacking a tag fall in the group whose key value
        is ``None``. The cost ranked is what was charged (``GroupTotals.charged``: the provider's
        bill where there is one); ties put the group with more calls of unknown cost first,
        then keep key order.
        """
        keys: tuple[str, ...] = ()
        for n in names:
            keys += _names(n)
        return sorted(self._aggregate(keys), key=lambda g: (-g.charged, -g.uncharged))

    # -- runs and calls ---------------------------------------------------------------------

    def _page(self, limit: int | None) -> RunPage[RecordView]:
        # the records as views: the report's output reads them so (no pydantic on a SQL store)
        page = self._pages.get(limit)
        if page is None:
            known = next((p.total for p in self._pages.values()), None)
            page = self._pages[limit] = self._store._run_page_views(self._where, limit, total=known)
        return page

    def runs(self, limit: int | None = None) -> list[RunReport[CostRecord]]:
        """Each root run with its calls, oldest start first; ``limit`` keeps the latest ones
        (only their records are read)."""
        if limit is not None and limit <= 0:
            return []
        return build_runs([v.to_record() for v in self._page(limit).records])

    def _shown_runs(self, limit: int | None = None) -> list[RunReport[RecordView]]:
        """:meth:`runs` with the calls as the store read them for output (views)."""
        if limit is not None and limit <= 0:
            return []
        return build_runs(self._page(limit).records)

    @property
    def run_count(self) -> int:
        """How many root runs the records belong to."""
        if not self.totals.count:
            return 0
        for page in self._pages.values():
            return page.total
        return self._page(0).total

    def most_expensive(self, n: int = 10) -> list[CostRecord]:
        """The ``n`` priced calls that cost the most (earlier first on ties)."""
        return self._store.most_expensive(n, self._where)

    def _shown_top(self, n: int) -> list[RecordView]:
        """:meth:`most_expensive` as views, for output."""
        return self._store._most_expensive_views(n, self._where)

    def _narrowed(self, **criteria: object) -> RecordFilter | None:
        return (self._where or RecordFilter()).narrowed(**criteria)

    def prompt_cache(self, *names: str) -> list[PromptCache]:
        """Provider prompt caching per group (default: per feature and model): cache-read and
        cache-write tokens, the token hit rate and what it saved against the uncached price
        (negative for writes never read); apart from response caches, whose hits are left
        out. Empty when no call read or wrote the provider's cache."""
        from tokenomy.report._prompt_cache import prompt_cache

        u = self.totals.usage
        if not (u.cache_read or u.cache_write):
            return []
        keys: tuple[str, ...] = ()
        for n in names or ("feature", "model"):
            keys += _names(n)
        found = self._prompt.get(keys)
        if found is None:
            found = self._prompt[keys] = prompt_cache(self, keys)
        return found

    def batch_savings(self) -> BatchSavings:
        """Calls sent through provider batch APIs (tag ``discount=batch``, by
        :class:`tokenomy.BatchRunner`): their cost against the same tokens at synchronous
        prices."""
        from tokenomy.batch._summary import batch_savings_in

        if self._batch is None:
            self._batch = batch_savings_in(self._store, self._where)
        return self._batch

    def unread_cache_writes(self, *names: str) -> list[UnreadWrites]:
        """Prompt-cache writes placed by :class:`tokenomy.CachePlacement` that no later call
        read, per group (default: per feature), with the money they lost. Empty when no call
        wrote the provider's cache."""
        from tokenomy.placement._unread import unread_cache_writes

        if not self.totals.usage.cache_write:
            return []
        keys = names or ("feature",)
        found = self._unread.get(keys)
        if found is None:
            found = self._unread[keys] = unread_cache_writes(self._store, keys, self._where)
        return found

    def _listed(self, limit: int | None, **criteria: object) -> list[CostRecord]:
        where = self._narrowed(**criteria)
        if where is None:
            return []
        if limit is None:
            return self._store.query(where)
        records = self._store.query(where, limit=limit, newest_first=True)
        records.reverse()
        return records

    def _shown_listed(self, limit: int | None, **criteria: object) -> list[RecordView]:
        """:meth:`_listed` as views, for output."""
        where = self._narrowed(**criteria)
        if where is None:
            return []
        if limit is None:
            return self._store._query_views(where)
        records = self._store._query_views(where, limit=limit, newest_first=True)
        records.reverse()
        return records

    def _shown_unpriced(self, limit: int | None) -> list[RecordView]:
        """:meth:`unpriced` as views, for output."""
        return self._shown_listed(limit, priced=False) if self.totals.unpriced else []

    def _shown_estimated(self, limit: int | None) -> list[RecordView]:
        """:meth:`estimated` as views, for output."""
        return self._shown_listed(limit, estimated=True) if self.totals.estimated else []

    def unpriced(self, limit: int | None = None) -> list[CostRecord]:
        """Records whose model has no known price: their cost is unknown, not zero (oldest
        first; ``limit`` keeps the newest ones)."""
        if not self.totals.unpriced:
            return []
        return self._listed(limit, priced=False)

    def estimated(self, limit: int | None = None) -> list[CostRecord]:
        """Records whose token counts were estimated locally, not reported by the provider
        (oldest first; ``limit`` keeps the newest ones)."""
        if not self.totals.estimated:
            return []
        return self._listed(limit, estimated=True)

    @cached_property
    def retries(self) -> RetrySummary:
        """Retries and failures: calls (first attempts), retries and the retry rate, failed
        attempts by error class and the failure rate, calls failed in the end, and what the
        failed attempts (``wasted_usd``) and the retries (``retries_usd``) cost; read with
        the store's aggregation (see ``report/_retries.py``)."""
        from tokenomy.report._retries import retry_totals

        return retry_totals(self)

    def unpriced_models(self) -> dict[str, int]:
        """Models that need a price, with how many calls each made (most calls first)."""
        if not self.totals.unpriced:
            return {}
        per_model = self._groups.get(("model",))
        if per_model is not None:  # prepared with the totals: no query of its own
            counts = {str(g.key["model"]): g.unpriced for g in per_model if g.unpriced}
        else:
            counts = self._store.unpriced_models(self._where)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

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

    def write_csv(
        self, out: IO[str], kind: CsvKind = "groups", *, by: Sequence[str] | str = DEFAULT_BY
    ) -> None:
        """:meth:`to_csv` written to ``out`` (``records`` streams in constant memory)."""
        from tokenomy.report._export import write_csv

        write_csv(self, kind, out, by=_names(by))

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

