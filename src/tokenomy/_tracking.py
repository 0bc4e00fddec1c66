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

from tokenomy.exceptions import PricingError, UnpricedCallError
from tokenomy.ledger._record import CacheInfo, CallKind, CostRecord, billed_mismatch, new_id
from tokenomy.ledger._stored import RECORD_NUMBERS, StoredCall
from tokenomy.pricing._book import PriceBook, get_price_book
from tokenomy.pricing._model import _MONEY, ModelPrice
from tokenomy.usage._model import Usage

if TYPE_CHECKING:
    from tokenomy.ledger import LedgerStore
    from tokenomy.report import Report

__all__ = [
    "Tracker",
    "current_tags",
    "current_tracker",
    "current_trackers",
    "flush",
    "record_call",
    "run_in_context",
    "store_call",
    "track",
]

P = ParamSpec("P")
R = TypeVar("R")
_ZERO = Decimal(0)
# A cache hit's cost, as stored: $0, no parts (see ledger/_stored.py)
_ZERO_COST: tuple[Any, ...] = (_ZERO, (), "", None, None, None, None)
_UNPRICED: tuple[Any, ...] = (None, None, None, None, None, None, None)
_NOTHING = Usage()
_new = object.__new__
_ESTIMATED_NOTHING = Usage(estimated=True)

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
        # The call path only appends (atomic): the running totals fold in the calls that
        # arrived since the last read, each exactly once, under the lock (so reading them
        # costs a few µs per new call, never a pass over every call: a budget reads them
        # before every call). The same lock guards the materialized records.
        self._lock = threading.Lock()
        self._stored: list[StoredCall] = []
        self._records: list[CostRecord] = []  # materialized, a prefix of _stored
        self._folded = 0  # how many of _stored the totals include
        self._cost = _ZERO
        self._saved = _ZERO
        self._unpriced = 0
        self._counts = [0, 0, 0, 0, 0, 0]
        self._estimated = False

    def _add(self, call: StoredCall) -> None:
        self._stored.append(call)

    def _fold(self) -> None:
        """Add the calls stored since the last fold to the totals (hold the lock)."""
        stored, c = self._stored, self._counts
        end = len(stored)
        for i in range(self._folded, end):
            call = stored[i]
            total, cache, u = call.cost_total, call.cache, call.usage
            if total is not None:
                self._cost = _MONEY.add(self._cost, total)
            else:
                self._unpriced += 1
            if cache is not None and cache.saved:
                self._saved = _MONEY.add(self._saved, cache.saved)
            c[0] += u.input
            c[1] += u.output
            c[2] += u.cache_read
            c[3] += u.cache_write_5m
            c[4] += u.cache_write_1h
            c[5] += u.reasoning
            if u.estimated:
                self._estimated = True
        self._folded = end

    @property
    def records(self) -> list[CostRecord]:
        """A snapshot of the records made inside the block so far."""
        with self._lock:
            records = self._records
            for item in self._stored[len(records) :]:
                records.append(item.to_record())
            return list(records)

    @property
    def stored_calls(self) -> tuple[StoredCall, ...]:
        """A snapshot of the calls made inside the block so far, as stored."""
        with self._lock:
            return tuple(self._stored)

    @property
    def cost(self) -> Decimal:
        """USD spent by priced records (unpriced ones are counted in :attr:`unpriced`)."""
        with self._lock:
            self._fold()
            return self._cost

    @property
    def unpriced(self) -> int:
        """How many records have no known price (their cost is unknown, not zero)."""
        with self._lock:
            self._fold()
            return self._unpriced

    @property
    def saved(self) -> Decimal:
        """USD not spent thanks to cache hits."""
        with self._lock:
            self._fold()
            return self._saved

    @property
    def usage(self) -> Usage:
        """Tokens of every record, summed."""
        with self._lock:
            self._fold()
            n_in, n_out, n_read, n_w5, n_w1, n_reas = self._counts
            return Usage(n_in, n_out, n_read, n_w5, n_w1, n_reas, self._estimated)

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


def current_trackers() -> tuple[Tracker, ...]:
    """The active :class:`Tracker` chain here, outermost first (empty outside every block).

    What a framework handler captures when a call starts, to pass as ``trackers=`` to
    :func:`store_call` when it ends (possibly in another context).
    """
    return _active.get()


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
    truncated: bool = False,
    billed_usd: Decimal | None = None,
    timestamp: datetime | None = None,
    price_book: PriceBook | None = None,
    ledger: LedgerStore | None = None,
    request: Any = None,
) -> CostRecord:
    """Price, attribute and store one model call; returns the record.

    :func:`store_call` with these arguments, returning ``store_call(...).to_record()``.

    * ``model=None`` records the call as model ``"unknown"``, unpriced: never dropped.
    * ``usage=None`` records zero tokens flagged ``estimated`` (the caller should pass an
      estimate when it can).
    * A cache hit (``cache="exact"``/``"semantic"`` or a :class:`CacheInfo` with that outcome)
      spends $0 and no tokens: ``usage`` is what the call *would* have used, priced into
      ``cache.saved``; the record keeps zero tokens.
    * ``billed_usd``: what the provider says it billed (OpenRouter's ``usage.cost``); taken
      from ``usage.extra.billed_usd`` when not given. Kept next to the price-book cost; a
      call whose two figures differ by more than 3% is tagged ``billed_mismatch``.
    * ``request``: what was sent (see :func:`store_call`), for the request hashes.
    """
    return store_call(
        model=model,
        usage=usage,
        provider=provider,
        kind=kind,
        latency_ms=latency_ms,
        ttft_ms=ttft_ms,
        streamed=streamed,
        run_id=run_id,
        parent_run_id=parent_run_id,
        root_run_id=root_run_id,
        tags=tags,
        cache=cache,
        attempt=attempt,
        error=error,
        service_tier=service_tier,
        name=name,
        framework=framework,
        truncated=truncated,
        billed_usd=billed_usd,
        timestamp=timestamp,
        price_book=price_book,
        ledger=ledger,
        request=request,
    ).to_record()


def _run_ref(value: Any) -> str | int | None:
    # The stored form of a run id: str as is, a uuid.UUID as its int (see ledger/_stored.py).
    if value is None or type(value) is str:
        return value
    if type(value) is UUID:
        return value.int
    return str(value)


def store_call(
    *,
    model: str | None,
    usage: Usage | None = None,
    provider: str | None = None,
    kind: str = "chat",
    latency_ms: float | None = None,
    ttft_ms: float | None = None,
    streamed: bool = False,
    run_id: Any = None,
    parent_run_id: Any = None,
    root_run_id: Any = None,
    base_tags: dict[str, str] | None = None,
    tags: Mapping[str, Any] | None = None,
    cache: CacheInfo | str | None = None,
    attempt: int = 1,
    error: str | None = None,
    service_tier: str | None = None,
    name: str | None = None,
    framework: str | None = None,
    truncated: bool = False,
    billed_usd: Decimal | None = None,
    timestamp: datetime | None = None,
    price_book: PriceBook | None = None,
    ledger: LedgerStore | None = None,
    trackers: tuple[Tracker, ...] | None = None,
    request: Any = None,
) -> StoredCall:
    """Price, attribute and store one model call; returns the :class:`StoredCall`.

    The one record path: :func:`record_call`, the framework handlers and the wrappers all
    come here. Beyond :func:`record_call`'s arguments:

    * run ids may be ``uuid.UUID`` (stored as their int);
    * tags, lowest precedence first: ``base_tags`` (framework metadata; the dict is taken
      over and may be changed), the innermost enclosing block's tags, then ``tags``;
    * ``trackers``: the :func:`track` blocks to attribute the call to (default: those active
      here, :func:`current_trackers`); the call counts in every one of them;
    * ``ledger`` and ``price_book`` are the *caller's own* explicit configuration (a
      handler's or wrapper's): they win over the innermost block's, which win over the
      process defaults;
    * pricing never loses a call: when it fails (a strict book and an unknown model, a
      malformed ``TOKENOMY_PRICES`` file), the call is stored unpriced with tag
      ``unpriced_reason`` = the error's class name, then :class:`~tokenomy.exceptions.
      UnpricedCallError` (carrying the stored call and the cause) is raised;
    * ``usage.extra`` (rare): its ``billed_usd`` is the default of ``billed_usd``; its
      ``note`` (an oddity of the provider's report, read as well as it could be) becomes tag
      ``usage_note``; its ``steps`` on other models are priced at their own rates, here
      (tag ``price_note`` names a step model with no known price, priced at the call's).
    * ``request``: what the call sent, for the record's request hashes
      (``tokenomy/_request_hash.py``): a zero-argument callable returning a
      :class:`~tokenomy._request_hash.NormalisedRequest` (called when the call is stored or
      first read, never here), the request itself, or :class:`RequestHashes`.
      A call with a bill is priced here too, and tagged ``billed_mismatch`` (the
      price-book cost minus the bill, relative to the bill) when they differ by more than 3%.

    Nothing here builds a pydantic model: ledgers and trackers keep the stored call and turn
    it into a :class:`CostRecord` when read.
    """
    chain = _active.get() if trackers is None else trackers
    inner = chain[-1] if chain else None
    merged: dict[str, str] = base_tags if base_tags is not None else {}
    if inner is not None and inner.tags:
        merged.update(inner.tags)
    if tags:
        merged.update({k: v if type(v) is str else str(v) for k, v in tags.items() if v is not None})
    if usage is None:
        usage = _ESTIMATED_NOTHING
    if cache is not None and isinstance(cache, str):
        cache = CacheInfo(outcome=cache)  # type: ignore[arg-type]
    failure: PricingError | None = None
    costing: tuple[Any, ...] | None = None  # set here only for unpriced calls and cache hits
    book: PriceBook | None = None
    try:
        book = price_book
        if book is None:
            book = inner.price_book if inner is not None else None
            if book is None:
                book = get_price_book()
        # the usual call, of a model already priced once: one dict lookup. The price entry
        # is kept and the cost computed when first read (ledger/_stored.py).
        entry = book._entries.get((model, provider)) if cache is None and model else None
        if entry is None:
            costing, entry, usage, cache = _price(book, model, provider, usage, service_tier, cache)
    except PricingError as exc:
        failure = exc
        entry, costing = None, _UNPRICED
        merged["unpriced_reason"] = type(exc).__name__
        if cache is not None and cache.outcome != "miss":
            usage = _ESTIMATED_NOTHING if usage.estimated else _NOTHING
            costing = _ZERO_COST
    extra = usage.extra
    if extra is not None or billed_usd is not None:
        billed_usd, costing = _extra_facts(
            merged, usage, billed_usd, costing, entry, book, provider, service_tier
        )
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
    # run ids as stored: strings (and None) as they are, the rest through _run_ref
    run = run_id if type(run_id) is str else _run_ref(run_id)
    parent = (
        parent_run_id
        if parent_run_id is None or type(parent_run_id) is str
        else _run_ref(parent_run_id)
    )
    root = root_run_id if root_run_id is None or type(root_run_id) is str else _run_ref(root_run_id)
    # Built field by field, each named once, in declaration order. The same object through
    # StoredCall's 30-keyword __init__ costs about 1 us more per recorded call, all of it in
    # binding the keywords (docs/ARCHITECTURE.md, "Hot path"); a test pins that every field
    # is set here.
    call: StoredCall = _new(StoredCall)
    call.number = next(RECORD_NUMBERS)
    call.timestamp = _time() if timestamp is None else timestamp
    call.run_id = run
    call.parent_run_id = parent
    call.root_run_id = root if root is not None else (parent if parent is not None else run)
    call.provider = provider
    call.model = model or "unknown"
    call.kind = kind
    call.usage = usage
    call.costing = costing
    call.price = entry
    call.priced = entry is not None or (costing is not None and costing[0] is not None)
    call.estimated = usage.estimated
    call.latency_ms = None if latency_ms is None else float(latency_ms)
    call.ttft_ms = None if ttft_ms is None else float(ttft_ms)
    call.streamed = streamed
    call.tags = merged
    call.cache = cache
    call.attempt = attempt if type(attempt) is int else int(attempt)
    call.error = error
    call.usable = None
    call.service_tier = service_tier
    call.name = name
    call.framework = framework
    call.truncated = bool(truncated)
    call.billed_usd = billed_usd
    call.prefix_hash = call.request_hash = call.prefix_tokens = None
    call.message_count = call.prompt_text = None
    call.request = request
    store = ledger if ledger is not None else (inner.ledger if inner else None)
    if store is None:
        store = _default_ledger()
    store._add_stored(call)
    for tracker in chain:
        tracker._add(call)
    if failure is not None:
        raise UnpricedCallError(call, failure) from failure
    return call


def _price(
    book: PriceBook,
    model: str | None,
    provider: str | None,
    usage: Usage,
    service_tier: str | None,
    cache: CacheInfo | None,
) -> tuple[tuple[Any, ...] | None, tuple[str, ModelPrice] | None, Usage, CacheInfo | None]:
    """``(costing, price entry, usage kept, cache)`` of one call: the costing of an unpriced
    call or a cache hit, else the ``(key, ModelPrice)`` entry its cost is computed from when
    first read.

    A cache hit spends nothing and keeps no tokens; what the call would have cost is the
    saving. Raises the book's PricingError (strict mode) for an unknown model.
    """
    if cache is not None and cache.outcome != "miss":
        if cache.saved is None and model:
            found = book._priced_entry(model, provider)
            if found is None:
                book._unknown(model, provider)
            else:
                saved = found[1].priced(usage, found[0])[0]
                cache = cache.model_copy(update={"saved": saved})
        return _ZERO_COST, None, _ESTIMATED_NOTHING if usage.estimated else _NOTHING, cache
    if not model:
        book._unknown("unknown", None)  # a call whose model was never reported
        return _UNPRICED, None, usage, cache
    found = book._priced_entry(model, provider)
    if found is None:
        book._unknown(model, provider)
        return _UNPRICED, None, usage, cache
    return None, found, usage, cache


def _extra_facts(
    tags: dict[str, str],
    usage: Usage,
    billed: Decimal | None,
    costing: tuple[Any, ...] | None,
    entry: tuple[str, ModelPrice] | None,
    book: PriceBook | None,
    provider: str | None,
    service_tier: str | None,
) -> tuple[Decimal | None, tuple[Any, ...] | None]:
    """``(billed_usd, costing)`` of a call whose usage has ``extra`` or that came with a bill,
    tagging ``tags`` with what the record should say (see :func:`store_call`)."""
    extra = usage.extra
    if extra is not None:
        if billed is None:
            billed = extra.billed_usd
        if extra.note:
            tags["usage_note"] = extra.note
        notes: list[str] = []
        if extra.steps and entry is not None and book is not None and costing is None:
            from tokenomy.pricing._steps import price_with_steps

            costing, unknown = price_with_steps(
                book, entry, usage, provider=provider, service_tier=service_tier
            )
            if unknown:
                notes.append(
                    "no price for step model(s) " + ", ".join(sorted(set(unknown)))
                    + ": priced at the call's model's rates"
                )
        if extra.web_searches and entry is not None and entry[1].web_search is None:
            notes.append(
                f"{extra.web_searches} web search call(s) unpriced: the price map has no "
                f"per-search rate for {entry[0]}"
            )
        if extra.image_generations:
            from tokenomy.pricing._images import price_images

            costing = price_images(extra, costing, entry, usage, service_tier, notes)
        if notes:
            tags["price_note"] = "; ".join(notes)
    if billed is not None:
        if not isinstance(billed, Decimal):
            billed = Decimal(repr(billed) if isinstance(billed, float) else billed)
        if costing is None and entry is not None:
            costing = entry[1].priced(usage, entry[0], service_tier)
        cost = None if costing is None else costing[0]
        if billed_mismatch(billed, cost):
            tags["billed_mismatch"] = (
                "unpriced"
                if cost is None
                else "inf"
                if billed == 0
                else str(_MONEY.divide(cost - billed, billed).quantize(Decimal("0.001")))
            )
    return billed, costing


def _default_ledger() -> LedgerStore:
    # imported on first use: tokenomy.ledger pulls in the stores, which `import tokenomy`
    # must not pay for
    global _default_ledger
    from tokenomy.ledger._open import default_ledger

    _default_ledger = default_ledger
    return default_ledger()
