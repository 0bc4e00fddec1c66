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
from time import time as _time
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from uuid import UUID

from tokenomy.ledger._record import CacheInfo, CallKind, CostRecord, new_id
from tokenomy.ledger._stored import (
    CACHE,
    IN,
    PRICED,
    RECORD_NUMBERS,
    TOTAL,
    USAGE_ESTIMATED,
    Stored,
    materialize,
)
from tokenomy.pricing._book import PriceBook, get_price_book
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
# A cache hit's cost, as stored: $0, no parts (see ledger/_stored.py)
_ZERO_COST: tuple[Any, ...] = (_ZERO, (), "", None, None, None, None)
_UNPRICED: tuple[Any, ...] = (None, None, None, None, None, None, None)
_UNSEEN: Any = object()
_NOTHING = (0, 0, 0, 0, 0, 0, False)
_ESTIMATED_NOTHING = (0, 0, 0, 0, 0, 0, True)

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
        self._lock = threading.Lock()  # guards _records (reads materialize into it)
        # the stored calls made inside the block: appended without a lock (list.append and
        # list() are atomic), so recording from many threads never waits
        self._stored: list[Stored] = []
        self._records: list[CostRecord] = []  # materialized, a prefix of _stored

    def _add(self, stored: Stored) -> None:
        self._stored.append(stored)

    def _snapshot(self) -> list[Stored]:
        return list(self._stored)

    @property
    def records(self) -> list[CostRecord]:
        """A snapshot of the records made inside the block so far."""
        stored = self._snapshot()
        with self._lock:
            records = self._records
            for item in stored[len(records) :]:
                records.append(materialize(item))
            return list(records)

    @property
    def cost(self) -> Decimal:
        """USD spent by priced records (unpriced ones are counted in :attr:`unpriced`)."""
        return sum((s[TOTAL] for s in self._snapshot() if s[TOTAL] is not None), _ZERO)

    @property
    def unpriced(self) -> int:
        """How many records have no known price (their cost is unknown, not zero)."""
        return sum(1 for s in self._snapshot() if not s[PRICED])

    @property
    def saved(self) -> Decimal:
        """USD not spent thanks to cache hits."""
        return sum(
            (s[CACHE].saved for s in self._snapshot() if s[CACHE] and s[CACHE].saved), _ZERO
        )

    @property
    def usage(self) -> Usage:
        """Tokens of every record, summed."""
        n_in = n_out = n_read = n_w5 = n_w1 = n_reas = 0
        estimated = False
        for s in self._snapshot():
            c = s[IN : USAGE_ESTIMATED + 1]
            n_in += c[0]
            n_out += c[1]
            n_read += c[2]
            n_w5 += c[3]
            n_w1 += c[4]
            n_reas += c[5]
            estimated = estimated or c[6]
        return Usage(n_in, n_out, n_read, n_w5, n_w1, n_reas, estimated)

    @property
    def calls(self) -> int:
        """How many records were made inside the block."""
        return len(self._stored)

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
    stored = _record_stored(
        model=model,
        counts=None if usage is None else usage.as_tuple(),
        provider=provider,
        kind=kind,
        latency_ms=latency_ms,
        ttft_ms=ttft_ms,
        streamed=streamed,
        run_id=run_id,
        parent_run_id=parent_run_id,
        root_run_id=root_run_id,
        tags={str(k): str(v) for k, v in tags.items() if v is not None} if tags else None,
        cache=cache,
        attempt=attempt,
        error=error,
        service_tier=service_tier,
        name=name,
        framework=framework,
        timestamp=timestamp,
        price_book=price_book,
        ledger=ledger,
    )
    return materialize(stored)


def _run_ref(value: Any) -> str | int | None:
    # The stored form of a run id: str as is, a uuid.UUID as its int (see ledger/_stored.py).
    if value is None or type(value) is str:
        return value
    if type(value) is UUID:
        return value.int
    return str(value)


def _record_stored(
    model: str | None,
    counts: tuple[int, int, int, int, int, int, bool] | None,
    provider: str | None = None,
    kind: str = "chat",
    latency_ms: float | None = None,
    ttft_ms: float | None = None,
    streamed: bool = False,
    run_id: Any = None,
    parent_run_id: Any = None,
    root_run_id: Any = None,
    base_tags: dict[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    cache: CacheInfo | str | None = None,
    error: str | None = None,
    service_tier: str | None = None,
    name: str | None = None,
    framework: str | None = None,
    price_book: PriceBook | None = None,
    ledger: LedgerStore | None = None,
    chain: tuple[Tracker, ...] | None = None,
    attempt: int = 1,
    timestamp: datetime | None = None,
) -> Stored:
    """:func:`record_call` for producers on a hot path; returns the stored call.

    Differences: ``counts`` is the :class:`Usage` as a tuple (six counts, then the estimated
    flag); tags are ``base_tags`` (framework metadata, lowest precedence, taken over and
    possibly changed), then the enclosing blocks' tags, then ``tags``, all already strings;
    run ids may be ``uuid.UUID``; ``chain`` is the :func:`track` blocks to attribute the call
    to (default: those active here). Nothing here builds a pydantic model: the ledger and the
    blocks keep the :data:`~tokenomy.ledger._stored.Stored` tuple and materialize the
    :class:`CostRecord` when read. Handlers pass the arguments by position (a call with
    twenty keywords costs more than pricing the call).
    """
    if chain is None:
        chain = _active.get()
    inner = chain[-1] if chain else None
    book = price_book or (inner.price_book if inner else None) or get_price_book()
    if counts is None:
        counts = _ESTIMATED_NOTHING
    cost: tuple[Any, ...]
    if cache is not None:
        if isinstance(cache, str):
            cache = CacheInfo(outcome=cache)  # type: ignore[arg-type]
        if cache.outcome == "miss":
            hit = False
        else:
            hit = True
            # a hit spends nothing; what the call would have cost is the saving
            if cache.saved is None and model:
                found = book._priced_entry(model, provider)
                if found is None:
                    book._unknown(model, provider)
                else:
                    saved = found[1].priced(counts, found[0])[0]
                    cache = cache.model_copy(update={"saved": saved})
            counts = _ESTIMATED_NOTHING if counts[6] else _NOTHING
            cost, priced = _ZERO_COST, True
    else:
        hit = False
    if not hit:  # the usual call
        if model:
            found = book._entries.get((model, provider), _UNSEEN)
            if found is _UNSEEN:
                found = book._priced_entry(model, provider)
            if found is None:
                book._unknown(model, provider)
                cost = _UNPRICED
            else:
                cost = found[1].priced(counts, found[0], service_tier)
        else:
            book._unknown("unknown", None)  # a call whose model was never reported
            cost = _UNPRICED
        priced = cost[0] is not None

    merged: dict[str, str] = base_tags if base_tags is not None else {}
    if inner is not None and inner.tags:
        merged.update(inner.tags)
    if tags:
        merged.update(tags)
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
    # run ids as stored (see _run_ref), inlined for the usual types
    t = type(run_id)
    run = run_id if t is str else run_id.int if t is UUID else _run_ref(run_id)
    t = type(parent_run_id)
    parent = (
        parent_run_id
        if parent_run_id is None or t is str
        else parent_run_id.int
        if t is UUID
        else _run_ref(parent_run_id)
    )
    t = type(root_run_id)
    root = (
        root_run_id
        if root_run_id is None or t is str
        else root_run_id.int
        if t is UUID
        else _run_ref(root_run_id)
    )
    stored = (
        next(RECORD_NUMBERS),
        _time() if timestamp is None else timestamp,
        run,
        parent,
        root if root is not None else (parent if parent is not None else run),
        provider,
        model or "unknown",
        kind,
        *counts,
        *cost,
        priced,
        counts[6],
        None if latency_ms is None else float(latency_ms),
        None if ttft_ms is None else float(ttft_ms),
        streamed,
        merged,
        cache,
        attempt if type(attempt) is int else int(attempt),
        error,
        service_tier,
        name,
        framework,
    )
    store = ledger if ledger is not None else (inner.ledger if inner else None)
    if store is None:
        store = _default_ledger()
    store._add_stored(stored)
    for tracker in chain:
        tracker._add(stored)
    return stored


def _default_ledger() -> LedgerStore:
    # imported on first use: tokenomy.ledger pulls in the stores, which `import tokenomy`
    # must not pay for
    global _default_ledger
    from tokenomy.ledger._open import default_ledger

    _default_ledger = default_ledger
    return default_ledger()
