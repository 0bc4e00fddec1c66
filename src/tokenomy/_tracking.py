"""``track()``, the current run, and record assembly (one call → one :class:`CostRecord`).

Every producer of records (framework handlers, wrappers, the SDK helpers) calls
:func:`record_call`. It prices the usage with the price book in effect, merges the tags of
every enclosing :func:`track` block, writes the record to one ledger (the one passed in, else
the innermost block's, else the process default named by ``TOKENOMY_LEDGER``) and adds it to
every enclosing :class:`Tracker` so their totals include it.

Context flows through a :class:`contextvars.ContextVar`, so a block reaches calls made deep in
chains and in asyncio tasks; thread pools that copy the context (LangChain's do) are covered,
and :func:`run_in_context` helps with plain threads.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from tokenomy.ledger._record import CacheInfo, CallKind, CostRecord, new_id
from tokenomy.pricing._book import PriceBook, get_price_book
from tokenomy.pricing._model import Cost
from tokenomy.usage._model import Usage

if TYPE_CHECKING:
    from tokenomy.ledger import LedgerStore
    from tokenomy.report import Report

__all__ = [
    "Tracker",
    "current_tags",
    "current_tracker",
    "flush",
    "record_call",
    "run_in_context",
    "track",
]

P = ParamSpec("P")
R = TypeVar("R")
_ZERO = Decimal(0)
_ZERO_COST = Cost(total=_ZERO, parts={})

_active: contextvars.ContextVar[tuple[Tracker, ...]] = contextvars.ContextVar(
    "tokenomy_active_trackers", default=()
)


class Tracker:
    """The records of one :func:`track` block (and of the blocks nested in it), with totals.

    Thread-safe: records may arrive from worker threads and asyncio tasks at once.
    """

    def __init__(
        self,
        tags: Mapping[str, str],
        *,
        name: str | None = None,
        ledger: LedgerStore | None = None,
        price_book: PriceBook | None = None,
        parent: Tracker | None = None,
    ) -> None:
        self.tags: dict[str, str] = {str(k): str(v) for k, v in tags.items()}
        self.name = name
        self.ledger = ledger
        self.price_book = price_book
        self.parent = parent
        self.run_id = new_id()
        self.started = time.time()
        self._lock = threading.Lock()
        self._records: list[CostRecord] = []

    def _add(self, record: CostRecord) -> None:
        with self._lock:
            self._records.append(record)

    @property
    def records(self) -> list[CostRecord]:
        """A snapshot of the records made inside the block so far."""
        with self._lock:
            return list(self._records)

    @property
    def cost(self) -> Decimal:
        """USD spent by priced records (unpriced ones are counted in :attr:`unpriced`)."""
        return sum((r.cost.total for r in self.records if r.cost is not None), _ZERO)

    @property
    def unpriced(self) -> int:
        """How many records have no known price (their cost is unknown, not zero)."""
        return sum(1 for r in self.records if not r.priced)

    @property
    def saved(self) -> Decimal:
        """USD not spent thanks to cache hits."""
        return sum((r.cache.saved or _ZERO for r in self.records), _ZERO)

    @property
    def usage(self) -> Usage:
        """Tokens of every record, summed."""
        total = Usage()
        for r in self.records:
            total = total + r.usage
        return total

    @property
    def calls(self) -> int:
        """How many records were made inside the block."""
        with self._lock:
            return len(self._records)

    def report(self) -> Report:
        """A :class:`~tokenomy.report.Report` over this block's records."""
        from tokenomy.report import Report

        return Report(self.records)

    def __repr__(self) -> str:
        return (
            f"Tracker(tags={self.tags!r}, calls={self.calls}, cost={self.cost}, "
            f"unpriced={self.unpriced})"
        )


@contextmanager
def track(
    *,
    name: str | None = None,
    ledger: LedgerStore | None = None,
    price_book: PriceBook | None = None,
    **tags: Any,
) -> Iterator[Tracker]:
    """Tag every record made inside the block, and collect them with their totals.

    Nestable: inner tags override outer ones and records count in every enclosing block.
    ``ledger`` sends the block's records to that store instead of the default one;
    ``price_book`` prices them with another book. Tag values are stored as strings.
    """
    chain = _active.get()
    parent = chain[-1] if chain else None
    merged: dict[str, str] = dict(parent.tags) if parent else {}
    merged.update({k: str(v) for k, v in tags.items() if v is not None})
    tracker = Tracker(
        merged,
        name=name,
        ledger=ledger if ledger is not None else (parent.ledger if parent else None),
        price_book=price_book
        if price_book is not None
        else (parent.price_book if parent else None),
        parent=parent,
    )
    token = _active.set((*chain, tracker))
    try:
        yield tracker
    finally:
        _active.reset(token)


def current_tracker() -> Tracker | None:
    """The innermost active :class:`Tracker`, if any."""
    chain = _active.get()
    return chain[-1] if chain else None


def current_tags() -> dict[str, str]:
    """The tags in effect here (those of the innermost :func:`track` block)."""
    chain = _active.get()
    return dict(chain[-1].tags) if chain else {}


def flush() -> None:
    """Write everything the default ledger buffered to storage (SQLite and PostgreSQL batch
    their writes in the background; in-process reads flush by themselves, so call this before
    another process reads the database)."""
    _default_ledger().flush()


def run_in_context(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap ``fn`` so it runs in a copy of the caller's context (for plain threads)."""
    ctx = contextvars.copy_context()

    def runner(*args: P.args, **kwargs: P.kwargs) -> R:
        return ctx.run(fn, *args, **kwargs)

    return runner


def record_call(
    *,
    model: str | None,
    usage: Usage | None,
    provider: str | None = None,
    kind: CallKind = "chat",
    latency_ms: float | None = None,
    ttft_ms: float | None = None,
    streamed: bool = False,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    root_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    cache: CacheInfo | str | None = None,
    attempt: int = 1,
    error: str | None = None,
    service_tier: str | None = None,
    name: str | None = None,
    framework: str | None = None,
    timestamp: datetime | None = None,
    price_book: PriceBook | None = None,
    ledger: LedgerStore | None = None,
) -> CostRecord:
    """Price, attribute and store one model call; returns the record.

    * ``model=None`` records the call as model ``"unknown"``, unpriced: never dropped.
    * ``usage=None`` records zero tokens flagged ``estimated`` (the caller should pass an
      estimate when it can).
    * A cache hit (``cache="exact"``/``"semantic"`` or a :class:`CacheInfo` with that outcome)
      spends $0 and no tokens: ``usage`` is what the call *would* have used, priced into
      ``cache.saved``; the record keeps zero tokens.
    """
    chain = _active.get()
    inner = chain[-1] if chain else None
    book = price_book or (inner.price_book if inner else None) or get_price_book()
    model_name = model or "unknown"
    if usage is None:
        usage = Usage(estimated=True)

    if isinstance(cache, str):
        cache = CacheInfo(outcome=cache)  # type: ignore[arg-type]
    cost: Cost | None
    if cache is not None and cache.outcome != "miss":
        would = book.price(model_name, usage, provider=provider) if model else None
        if cache.saved is None and would is not None:
            cache = cache.model_copy(update={"saved": would.total})
        usage = Usage(estimated=usage.estimated)
        cost, priced = _ZERO_COST, True
    else:
        cost = book.price(model_name, usage, provider=provider, service_tier=service_tier) if model else None
        priced = cost is not None
        if model is None:
            _warn_unknown_model(book)

    merged: dict[str, str] = dict(inner.tags) if inner else {}
    if tags:
        merged.update({str(k): str(v) for k, v in tags.items() if v is not None})
    if run_id is None:
        run_id = new_id()
        if inner is not None and parent_run_id is None:
            # the call hangs under the innermost block; the outermost block is the root run,
            # labelled (tag run_name) by the first named block unless the caller set a label
            parent_run_id = inner.run_id
            root_run_id = chain[0].run_id
            if "run_name" not in merged:
                label = next((t.name for t in chain if t.name), None)
                if label is not None:
                    merged["run_name"] = label
    # Ids may arrive as uuid.UUID (LangChain's run ids); the record keeps strings.
    run_id = str(run_id)
    parent_run_id = None if parent_run_id is None else str(parent_run_id)
    root_run_id = None if root_run_id is None else str(root_run_id)
    fields: dict[str, Any] = {
        "run_id": run_id,
        "parent_run_id": parent_run_id,
        "root_run_id": root_run_id or parent_run_id or run_id,
        "provider": provider,
        "model": model_name,
        "kind": kind,
        "usage": usage,
        "cost": cost,
        "priced": priced,
        "estimated": usage.estimated,
        "latency_ms": None if latency_ms is None else float(latency_ms),
        "ttft_ms": None if ttft_ms is None else float(ttft_ms),
        "streamed": streamed,
        "tags": merged,
        "attempt": int(attempt),
        "error": error,
        "service_tier": service_tier,
        "name": name,
        "framework": framework,
    }
    if cache is not None:
        fields["cache"] = cache
    if timestamp is not None:
        fields["timestamp"] = timestamp
    record = CostRecord._trusted(fields)

    store = ledger if ledger is not None else (inner.ledger if inner else None)
    if store is None:
        store = _default_ledger()
    store.add(record)
    for tracker in chain:
        tracker._add(record)
    return record


def _default_ledger() -> LedgerStore:
    # imported on first use: tokenomy.ledger pulls in the stores, which `import tokenomy`
    # must not pay for
    global _default_ledger
    from tokenomy.ledger._open import default_ledger

    _default_ledger = default_ledger
    return default_ledger()


def _warn_unknown_model(book: PriceBook) -> None:
    # A call whose model name was never reported is unpriced like an unknown model.
    book._unknown("unknown", None)
