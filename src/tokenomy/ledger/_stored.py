"""The stored form of one call: :class:`StoredCall`, and the ``CostRecord`` it reads as.

Framework handlers record a call on the caller's thread, inside the model call. Building a
:class:`CostRecord` there (a pydantic model, a ``Cost`` dataclass, a datetime, a UUID string)
costs more than reading the usage and pricing it. So :func:`tokenomy.store_call` builds a
:class:`StoredCall` instead, by keyword, in one place: a slotted object of plain values
(numbers, Decimals, strings, the :class:`Usage`, one ``{str: str}`` tags dict). Stores keep it
as it is (``MemoryLedger``, trackers) or hand it to their writer thread (SQL stores, which turn
it into a row in ``ledger/_rows.py``), and :meth:`StoredCall.to_record` turns it into the
:class:`CostRecord` when somebody reads it. Reading is deterministic: the same stored call
always reads as equal records.

Compact encodings, each undone by :meth:`StoredCall.to_record`:

* ``number``: an ``int`` from a process counter reads as ``record_id``
  ``<process prefix><counter>`` in UUID form (the prefix is random per process and renewed in
  a forked child); a ``str`` is the record id itself.
* ``timestamp``: a ``float`` (``time.time()``) reads as an aware UTC datetime; a ``datetime``
  is kept.
* run ids: an ``int`` (a ``uuid.UUID``'s ``.int``) reads as the UUID's string.
* the cost: ``costing``, what :meth:`ModelPrice.priced` returns (``cost_total``, ``None`` when
  unpriced; ``cost_parts`` as a flat ``(dimension, USD...)`` tuple or ``None`` for the usual
  input-and-output-only call, whose two parts are ``cost_input``/``cost_output``;
  ``price_model``; ``price_tier``, the tier whose prices applied; ``context_above``, the
  long-context threshold crossed), each readable by that name. A call recorded with a price
  found keeps ``price`` (the price-book entry, ``(key, ModelPrice)``) and ``costing=None``: the
  Decimal arithmetic runs on the first read of its cost (a tracker's totals, a ledger's writer
  thread or reader, a report), not inside the model call. The price is resolved when the call
  is recorded (an unknown model is unpriced, and a strict book refuses, then), and
  ``ModelPrice`` is immutable, so the cost read later is the one the call had.
* ``cache``: ``None`` for a miss.

Every other field has the name, type and meaning of the :class:`CostRecord` field it reads
as, and is copied over by :meth:`StoredCall.to_record` by name (:data:`PLAIN_FIELDS`).
"""

from __future__ import annotations

import itertools
import os
import threading
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.ledger._filter import epoch_us
from tokenomy.ledger._view import RECORD_FIELDS
from tokenomy.pricing._model import Cost, ModelPrice
from tokenomy.usage._model import Usage

if TYPE_CHECKING:
    from tokenomy.ledger._record import CacheInfo, CostRecord

__all__ = [
    "PLAIN_FIELDS",
    "RECORD_FIELDS",
    "RECORD_NUMBERS",
    "StoredCall",
    "run_id_text",
]

# -- record numbers ------------------------------------------------------------------------

#: ``next(RECORD_NUMBERS)`` is a stored call's ``number``: formatted after this process's
#: random prefix as its ``record_id`` (a forked child gets its own prefix, so the numbers may
#: repeat across processes and the ids do not).
RECORD_NUMBERS = itertools.count(1)
_prefix: str | None = None
_prefix_lock = threading.Lock()


def _new_prefix() -> str:
    """20 random hex digits in UUID-4 form, to which a 12-digit counter is appended."""
    global _prefix
    with _prefix_lock:
        if _prefix is None:
            h = os.urandom(10).hex()
            _prefix = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-"
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_forked)
        return _prefix


def _forked() -> None:
    # A forked child must never hand out the parent's ids (they may share a ledger): it
    # gets its own prefix (the numbers may repeat, the prefix does not).
    global _prefix
    _prefix = None


def run_id_text(value: Any) -> str | None:
    """A stored run id as the record's string (an int is a UUID's, formatted like ``str()``)."""
    if value is None or type(value) is str:
        return value
    if type(value) is int:
        h = f"{value:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return str(value)


# -- the stored call -----------------------------------------------------------------------

#: The costing of an unpriced call.
_UNPRICED: tuple[Any, ...] = (None, None, None, None, None, None, None)


@dataclass(slots=True, kw_only=True, eq=False)
class StoredCall:
    """One recorded call as kept in process (see the module docstring for the encodings).

    Built by :func:`tokenomy.store_call` (and :meth:`from_record`); read with
    :meth:`to_record`, or through the named attributes below.
    """

    number: int | str
    timestamp: float | datetime
    run_id: str | int | None
    parent_run_id: str | int | None
    root_run_id: str | int | None
    provider: str | None
    model: str
    kind: str
    usage: Usage
    costing: tuple[Any, ...] | None = None
    price: tuple[str, ModelPrice] | None = None
    priced: bool
    estimated: bool
    latency_ms: float | None = None
    ttft_ms: float | None = None
    streamed: bool = False
    tags: dict[str, str]
    cache: CacheInfo | None = None
    attempt: int = 1
    error: str | None = None
    usable: bool | None = None
    service_tier: str | None = None
    name: str | None = None
    framework: str | None = None
    truncated: bool = False
    billed_usd: Decimal | None = None
    prefix_hash: str | None = None
    request_hash: str | None = None
    prefix_tokens: int | None = None
    message_count: int | None = None
    prompt_text: str | None = None
    #: what the five fields above are computed from, when first needed (the call is stored
    #: or read): ``store_call(request=...)``, see tokenomy/_request_hash.py; then ``None``
    request: Any = None

    # -- named reads ---------------------------------------------------------------------

    @property
    def record_id(self) -> str:
        """The ``record_id`` this call reads as."""
        n = self.number
        return n if type(n) is str else f"{_prefix or _new_prefix()}{n:012x}"

    @property
    def ts_us(self) -> int:
        """Microseconds since the epoch of the timestamp (the stores' sort key)."""
        ts = self.timestamp
        if isinstance(ts, float):
            return round(ts * 1_000_000)
        return epoch_us(ts)

    @property
    def when(self) -> datetime:
        """The timestamp as a datetime (aware UTC when it was recorded as ``time.time()``)."""
        ts = self.timestamp
        return datetime.fromtimestamp(ts, UTC) if isinstance(ts, float) else ts

    def _costing(self) -> tuple[Any, ...]:
        # what ModelPrice.priced() returns, computed on the first read of the cost
        costing = self.costing
        if costing is None:
            if self.price is None:
                raise ValueError("a StoredCall needs costing or price")
            key, price = self.price
            costing = self.costing = price.priced(self.usage, key, self.service_tier)
        return costing

    @property
    def cost_total(self) -> Decimal | None:
        """USD the call cost (``None`` when unpriced)."""
        total: Decimal | None = self._costing()[0]
        return total

    @property
    def cost_parts(self) -> tuple[Any, ...] | None:
        """The parts as a flat ``(dimension, USD...)`` tuple; ``None`` for the usual
        input-and-output-only call (see :attr:`cost_input`, :attr:`cost_output`)."""
        parts: tuple[Any, ...] | None = self._costing()[1]
        return parts

    @property
    def cost_input(self) -> Decimal | None:
        """The input part of the usual call (``cost_parts`` is ``None``)."""
        value: Decimal | None = self._costing()[5]
        return value

    @property
    def cost_output(self) -> Decimal | None:
        """The output part of the usual call (``cost_parts`` is ``None``)."""
        value: Decimal | None = self._costing()[6]
        return value

    @property
    def price_model(self) -> str | None:
        """The price-book entry the call was priced as."""
        if self.costing is None and self.price is not None:
            return self.price[0]  # known without computing the cost
        model: str | None = self._costing()[2]
        return model

    @property
    def price_tier(self) -> str | None:
        """The service tier whose prices applied (``None``: the standard rates)."""
        tier: str | None = self._costing()[3]
        return tier

    @property
    def context_above(self) -> int | None:
        """The long-context threshold the call crossed, if any."""
        above: int | None = self._costing()[4]
        return above

    @property
    def cost(self) -> Cost | None:
        """The :class:`Cost` (``None`` when unpriced)."""
        total = self.cost_total
        if total is None:
            return None
        flat = self.cost_parts
        parts: dict[str, Any] = (
            {"input": self.cost_input, "output": self.cost_output}
            if flat is None
            else dict(zip(flat[::2], flat[1::2], strict=True))
        )
        return Cost(
            total=total,
            parts=parts,
            model=self.price_model or "",
            service_tier=self.price_tier,
            context_above=self.context_above,
        )

    # -- the record ----------------------------------------------------------------------

    def resolve_request(self) -> None:
        """Compute the request's hashes from :attr:`request` (once; a no-op without one)."""
        source = self.request
        if source is None:
            return
        from tokenomy._request_hash import resolve_request

        found = resolve_request(source)
        if found is not None:
            (
                self.prefix_hash,
                self.request_hash,
                self.prefix_tokens,
                self.message_count,
                self.prompt_text,
            ) = found
        self.request = None

    def to_record(self) -> CostRecord:
        """The :class:`CostRecord` this call reads as (a new, equal one on every call)."""
        from tokenomy.ledger._record import _MISS, CostRecord

        if self.request is not None:
            self.resolve_request()
        values = {name: getattr(self, name) for name in PLAIN_FIELDS}
        values["record_id"] = self.record_id
        values["run_id"] = run_id_text(self.run_id)
        values["parent_run_id"] = run_id_text(self.parent_run_id)
        values["root_run_id"] = run_id_text(self.root_run_id)
        values["timestamp"] = self.when
        values["usage"] = self.usage
        values["cost"] = self.cost
        values["tags"] = dict(self.tags)
        values["cache"] = self.cache or _MISS
        return CostRecord._construct({k: values[k] for k in RECORD_FIELDS}, _SET)

    @classmethod
    def from_record(cls, r: CostRecord) -> StoredCall:
        """The stored call that reads as ``r`` (how records added by ``add()`` are written)."""
        c = r.cost
        plain = {name: getattr(r, name) for name in PLAIN_FIELDS}
        return cls(
            number=r.record_id,
            timestamp=r.timestamp,
            run_id=r.run_id,
            parent_run_id=r.parent_run_id,
            root_run_id=r.root_run_id,
            usage=r.usage,
            costing=_UNPRICED
            if c is None
            else (
                c.total,
                tuple(item for kv in c.parts.items() for item in kv),
                c.model,
                c.service_tier,
                c.context_above,
                None,
                None,
            ),
            tags=r.tags,
            cache=None if _is_miss(r.cache) else r.cache,
            **plain,
        )


def _is_miss(cache: CacheInfo) -> bool:
    """Whether ``cache`` equals the record's default (a miss, nothing saved, no similarity)."""
    return cache.outcome == "miss" and cache.saved is None and cache.similarity is None


#: The fields a stored call and its record share by name, type and meaning: copied as they
#: are by :meth:`StoredCall.to_record` and :meth:`StoredCall.from_record`, and (see
#: ``ledger/_rows.py``) stored in the SQL column of the same name. A new record field of a
#: plain type lands here by being declared on both classes (and on ``RecordView``, whose
#: fields are the record's: ``ledger/_view.py``), so this module imports no pydantic.
PLAIN_FIELDS: tuple[str, ...] = tuple(
    f.name
    for f in fields(StoredCall)
    if f.name in RECORD_FIELDS
    and f.name
    not in {
        "record_id",
        "run_id",
        "parent_run_id",
        "root_run_id",
        "timestamp",
        "usage",
        "cost",
        "tags",
        "cache",
    }
)

# Every field but ``usable`` is set by the producer (one shared set: CostRecord is frozen and
# pydantic copies the set before changing it).
_SET: set[str] = set(RECORD_FIELDS) - {"usable"}
