"""A record read for display: :class:`RecordView`, a :class:`CostRecord`'s values without pydantic.

A report shows a few records (the most expensive calls, the latest runs' calls, the unpriced
and estimated ones). Building them as ``CostRecord``s imports pydantic and the record models,
about 80 ms of ``tokenomy report``'s start (more than anything but PostgreSQL's driver), only
to read their values. So the SQL stores read the shown rows as
``RecordView``s (``ledger/_rows.py``: ``row_to_view``), which carry the same fields with the
same names, types and meaning (``cache`` is a :class:`CacheView`), the record's conveniences
(``total_cost``, ``charged_usd``, ``billed_mismatch``, ``is_cache_hit``) and its export dict
(:meth:`RecordView.to_json_dict`, equal to the record's). :meth:`RecordView.to_record` gives
the ``CostRecord`` where one is wanted (a report's public ``most_expensive()``, ``runs()``).

The fields, in the record's declaration order, are pinned to ``CostRecord.model_fields`` by a
test: a new record field is declared here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.ledger._billed import billed_mismatch
from tokenomy.pricing._model import Cost
from tokenomy.usage._model import Usage

if TYPE_CHECKING:
    from tokenomy.ledger._record import CacheInfo, CostRecord

__all__ = ["MISS_VIEW", "RECORD_FIELDS", "CacheView", "RecordView", "json_time"]


@dataclass(frozen=True, slots=True)
class CacheView:
    """The values of a :class:`~tokenomy.ledger.CacheInfo`: the outcome, what a hit saved, the
    similarity of a semantic hit."""

    outcome: str = "miss"
    saved: Decimal | None = None
    similarity: float | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """What ``CacheInfo.model_dump(mode="json")`` gives."""
        saved = self.saved
        return {
            "outcome": self.outcome,
            "saved": None if saved is None else str(saved),
            "similarity": self.similarity,
        }


#: The cache of a call that missed every cache.
MISS_VIEW = CacheView()

_ZERO_OFFSET = timedelta(0)


def json_time(ts: datetime) -> str | None:
    """``ts`` as pydantic writes a datetime in JSON (``Z`` for UTC), ``None`` for an offset
    that is not a whole number of minutes (pydantic drops the seconds; the caller asks it)."""
    offset = ts.utcoffset()
    if offset is None:
        return ts.isoformat()
    if offset == _ZERO_OFFSET:
        return ts.replace(tzinfo=None).isoformat() + "Z"
    if offset.microseconds or offset.seconds % 60:
        return None
    return ts.isoformat()


@dataclass(slots=True, kw_only=True, eq=False)
class RecordView:
    """One stored call's record values, read without building the pydantic record (see the
    module docstring). Treat it as read-only, like the record."""

    record_id: str
    run_id: str | None
    parent_run_id: str | None
    root_run_id: str | None
    timestamp: datetime
    provider: str | None
    model: str
    kind: str
    usage: Usage
    cost: Cost | None
    priced: bool
    estimated: bool
    latency_ms: float | None
    ttft_ms: float | None
    streamed: bool
    tags: dict[str, str]
    cache: CacheView
    attempt: int
    error: str | None
    usable: bool | None
    service_tier: str | None
    name: str | None
    framework: str | None
    truncated: bool
    billed_usd: Decimal | None
    prefix_hash: str | None
    request_hash: str | None
    prefix_tokens: int | None
    message_count: int | None
    prompt_text: str | None
    #: the record it was read from (:meth:`of`), or built by :meth:`to_record`
    _record: CostRecord | None = field(default=None, repr=False)

    @classmethod
    def of(cls, record: CostRecord) -> RecordView:
        """The view of ``record`` (whose :meth:`to_record` is ``record`` itself)."""
        values = {name: getattr(record, name) for name in RECORD_FIELDS}
        c = record.cache
        values["cache"] = (
            MISS_VIEW
            if c.outcome == "miss" and c.saved is None and c.similarity is None
            else CacheView(c.outcome, c.saved, c.similarity)
        )
        return cls(**values, _record=record)

    def to_record(self) -> CostRecord:
        """The :class:`CostRecord` of these values (built once, without validation: they were
        validated when the call was recorded)."""
        record = self._record
        if record is None:
            from tokenomy.ledger._record import _MISS, CacheInfo, CostRecord

            values = {name: getattr(self, name) for name in RECORD_FIELDS}
            c = self.cache
            cache: CacheInfo = (
                _MISS
                if c == MISS_VIEW
                else CacheInfo.model_construct(
                    outcome=c.outcome, saved=c.saved, similarity=c.similarity
                )
            )
            values["cache"] = cache
            values["tags"] = dict(self.tags)
            record = self._record = CostRecord._construct(values, set(RECORD_FIELDS))
        return record

    # -- the record's conveniences ----------------------------------------------------------

    @property
    def total_cost(self) -> Decimal | None:
        """USD spent on this call (``None`` when unpriced): ``CostRecord.total_cost``."""
        return None if self.cost is None else self.cost.total

    @property
    def charged_usd(self) -> Decimal | None:
        """The provider's bill where it reported one, else the price-book cost:
        ``CostRecord.charged_usd``."""
        return self.billed_usd if self.billed_usd is not None else self.total_cost

    @property
    def billed_mismatch(self) -> bool:
        """``CostRecord.billed_mismatch``: the bill and the price book disagree."""
        return billed_mismatch(self.billed_usd, self.total_cost)

    @property
    def is_cache_hit(self) -> bool:
        """True when the answer came from a cache."""
        return self.cache.outcome != "miss"

    def to_json_dict(self) -> dict[str, Any]:
        """``CostRecord.to_json_dict()`` of the same values (the ``tokenomy export`` line):
        written here for a row read back (no pydantic), the record's own for a view of a
        record (:meth:`of`: whatever its class or values)."""
        if self._record is not None:
            return self._record.to_json_dict()
        when = json_time(self.timestamp)
        if when is None:  # an offset with seconds: pydantic's own rounding
            return self.to_record().to_json_dict()
        cost = self.cost
        billed = self.billed_usd
        return {
            "record_id": self.record_id,
            "run_id": self.run_id,
            "parent_run_id": self.parent_run_id,
            "root_run_id": self.root_run_id,
            "timestamp": when,
            "provider": self.provider,
            "model": self.model,
            "kind": self.kind,
            "usage": self.usage.counts(),
            "cost": None if cost is None else cost.to_dict(),
            "priced": self.priced,
            "estimated": self.estimated or self.usage.estimated,
            "latency_ms": self.latency_ms,
            "ttft_ms": self.ttft_ms,
            "streamed": self.streamed,
            "tags": dict(self.tags),
            "cache": self.cache.to_json_dict(),
            "attempt": self.attempt,
            "error": self.error,
            "usable": self.usable,
            "service_tier": self.service_tier,
            "name": self.name,
            "framework": self.framework,
            "truncated": self.truncated,
            "billed_usd": None if billed is None else str(billed),
            "prefix_hash": self.prefix_hash,
            "request_hash": self.request_hash,
            "prefix_tokens": self.prefix_tokens,
            "message_count": self.message_count,
            "prompt_text": self.prompt_text,
        }


#: The record's fields in declaration order (the order its ``__dict__`` and export keep).
RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RecordView) if f.name != "_record")
