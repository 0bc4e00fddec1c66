"""What batching saved: the batch-priced records against the same usage at standard rates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy.ledger import CostRecord, LedgerStore, RecordFilter
    from tokenomy.pricing import PriceBook

__all__ = ["BATCH_TAG", "BatchSavings", "batch_savings", "batch_savings_in"]

#: the tag every batch-priced item record carries (a cheap filter for reports)
BATCH_TAG = ("discount", "batch")

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class BatchSavings:
    """Batch-priced calls (``service_tier == "batch"``) of some records: how many, what they
    cost, what the same tokens cost at the model's standard (synchronous) rates, per job
    (tag ``batch_job``). ``unpriced`` counts calls left out of both sums."""

    calls: int
    failed: int
    cost: Decimal
    sync_cost: Decimal
    unpriced: int
    jobs: dict[str, tuple[int, Decimal, Decimal]] = field(default_factory=dict)

    @property
    def saved(self) -> Decimal:
        return self.sync_cost - self.cost

    @property
    def saved_share(self) -> float | None:
        """The saving as a share of the synchronous price (``None``: nothing priced)."""
        return float(self.saved / self.sync_cost) if self.sync_cost else None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "failed": self.failed,
            "cost_usd": str(self.cost),
            "sync_cost_usd": str(self.sync_cost),
            "saved_usd": str(self.saved),
            "saved_share": self.saved_share,
            "unpriced": self.unpriced,
            "jobs": {
                k: {"calls": n, "cost_usd": str(c), "sync_cost_usd": str(s)}
                for k, (n, c, s) in self.jobs.items()
            },
        }


def batch_savings(
    records: Iterable[CostRecord], price_book: PriceBook | None = None
) -> BatchSavings:
    """:class:`BatchSavings` of ``records`` (any ledger's ``query()`` / ``iter_records()``),
    the synchronous price read from ``price_book`` (default: the process's)."""
    from tokenomy.pricing import get_price_book

    book = price_book or get_price_book()
    calls = failed = unpriced = 0
    cost = sync = _ZERO
    jobs: dict[str, tuple[int, Decimal, Decimal]] = {}
    for record in records:
        if record.service_tier != "batch":
            continue
        calls += 1
        if record.error:
            failed += 1
        price = book.lookup(record.model, record.provider) if record.cost is not None else None
        if record.cost is None or price is None:
            unpriced += 1
            continue
        standard = price.cost(record.usage, model=record.model).total
        cost += record.cost.total
        sync += standard
        job = record.tags.get("batch_job", "")
        n, c, s = jobs.get(job, (0, _ZERO, _ZERO))
        jobs[job] = (n + 1, c + record.cost.total, s + standard)
    return BatchSavings(calls, failed, cost, sync, unpriced, jobs)


def batch_savings_in(
    store: LedgerStore, where: RecordFilter | None = None, price_book: PriceBook | None = None
) -> BatchSavings:
    """:func:`batch_savings` from a store's aggregation (records tagged ``discount=batch``,
    grouped by job, model and provider; no record is built). Failed items are not counted."""
    from tokenomy.ledger import RecordFilter
    from tokenomy.pricing import get_price_book

    book = price_book or get_price_book()
    base = where or RecordFilter()
    tags = {**base.tags, BATCH_TAG[0]: BATCH_TAG[1]}
    narrowed = RecordFilter(
        since=base.since,
        until=base.until,
        tags=tags,
        models=base.models,
        providers=base.providers,
        run_id=base.run_id,
        root_run_id=base.root_run_id,
        priced=base.priced,
        estimated=base.estimated,
        cache_hit=base.cache_hit,
    )
    calls = unpriced = 0
    cost = sync = _ZERO
    jobs: dict[str, tuple[int, Decimal, Decimal]] = {}
    for g in store.aggregate(("batch_job", "model", "provider"), narrowed):
        calls += g.count
        unpriced += g.unpriced
        model, provider = g.key.get("model"), g.key.get("provider")
        price = None if model is None else book.lookup(model, provider)
        if price is None or g.unpriced:
            continue
        standard = price.cost(g.usage, model=model or "").total
        cost += g.cost
        sync += standard
        job = g.key.get("batch_job") or ""
        n, c, s = jobs.get(job, (0, _ZERO, _ZERO))
        jobs[job] = (n + g.count, c + g.cost, s + standard)
    return BatchSavings(calls, 0, cost, sync, unpriced, jobs)
