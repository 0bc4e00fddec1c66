"""Which records a query selects (:class:`RecordFilter`) and the time helpers every store shares."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tokenomy.exceptions import ConfigurationError

if TYPE_CHECKING:
    from tokenomy.ledger._record import CostRecord
    from tokenomy.ledger._stored import StoredCall
    from tokenomy.ledger._view import RecordView

__all__ = ["RecordFilter", "epoch_us", "is_estimated", "utc"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_ONE_US = timedelta(microseconds=1)


def utc(dt: datetime) -> datetime:
    """``dt`` as an aware UTC datetime; a naive datetime is taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def epoch_us(dt: datetime) -> int:
    """Exact microseconds since 1970-01-01 UTC (naive datetimes are UTC): the stores' sort key."""
    if dt.tzinfo is None:
        return (dt - _EPOCH_NAIVE) // _ONE_US
    return (dt - _EPOCH) // _ONE_US


def _names(value: Collection[str] | None, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    out = tuple(sorted(set(value)))
    for v in out:
        if not isinstance(v, str):
            raise ConfigurationError(f"RecordFilter.{what} must hold strings, got {v!r}")
    return out


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordFilter:
    """Select records; every criterion given must hold (``None`` means "any").

    * ``since`` / ``until``: the half-open time range ``since <= timestamp < until``
      (naive datetimes are taken as UTC);
    * ``tags``: every ``key: value`` pair must be among the record's tags;
    * ``models`` / ``providers``: the record's model (provider) is one of these;
    * ``run_id`` / ``root_run_id``: equality;
    * ``priced``: has a cost (true) or is unpriced, ``cost`` ``None`` (false);
    * ``estimated``: the record or its usage is flagged estimated;
    * ``cache_hit``: the answer came from a cache (outcome other than ``"miss"``);
    * ``failed``: the attempt raised (its ``error`` is set) or not;
    * ``retry``: a retried attempt (``attempt`` > 1, true) or a first one (``attempt`` 1,
      false); answers served without a provider call (``attempt`` 0) are neither.
    """

    since: datetime | None = None
    until: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    models: Collection[str] | None = None
    providers: Collection[str] | None = None
    run_id: str | None = None
    root_run_id: str | None = None
    priced: bool | None = None
    estimated: bool | None = None
    cache_hit: bool | None = None
    failed: bool | None = None
    retry: bool | None = None

    def __post_init__(self) -> None:
        tags = dict(self.tags or {})
        for k, v in tags.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ConfigurationError(
                    f"RecordFilter.tags must map strings to strings, got {k!r}: {v!r}"
                )
        object.__setattr__(self, "tags", tags)
        object.__setattr__(self, "models", _names(self.models, "models"))
        object.__setattr__(self, "providers", _names(self.providers, "providers"))
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, datetime):
                raise ConfigurationError(f"RecordFilter.{name} must be a datetime, got {value!r}")

    @property
    def since_us(self) -> int | None:
        """``since`` as epoch microseconds (``None`` when unset)."""
        return None if self.since is None else epoch_us(self.since)

    @property
    def until_us(self) -> int | None:
        """``until`` as epoch microseconds (``None`` when unset)."""
        return None if self.until is None else epoch_us(self.until)

    def matches(self, record: CostRecord) -> bool:
        """True when ``record`` satisfies every criterion (the reference semantics)."""
        if self.since is not None or self.until is not None:
            ts = epoch_us(record.timestamp)
            since, until = self.since_us, self.until_us
            if since is not None and ts < since:
                return False
            if until is not None and ts >= until:
                return False
        if self.models is not None and record.model not in self.models:
            return False
        if self.providers is not None and record.provider not in self.providers:
            return False
        if self.run_id is not None and record.run_id != self.run_id:
            return False
        if self.root_run_id is not None and record.root_run_id != self.root_run_id:
            return False
        if self.priced is not None and (record.cost is not None) != self.priced:
            return False
        if self.estimated is not None and is_estimated(record) != self.estimated:
            return False
        if self.cache_hit is not None and record.is_cache_hit != self.cache_hit:
            return False
        if not _attempt_matches(self, record.attempt, record.error):
            return False
        if self.tags:
            rec_tags = record.tags
            for k, v in self.tags.items():
                if rec_tags.get(k) != v:
                    return False
        return True


    def matches_stored(self, s: StoredCall) -> bool:
        """:meth:`matches` for a stored call, read as it is (no record built)."""
        from tokenomy.ledger._stored import run_id_text

        if self.since is not None or self.until is not None:
            ts = s.ts_us
            since, until = self.since_us, self.until_us
            if since is not None and ts < since:
                return False
            if until is not None and ts >= until:
                return False
        if self.models is not None and s.model not in self.models:
            return False
        if self.providers is not None and s.provider not in self.providers:
            return False
        if self.run_id is not None and run_id_text(s.run_id) != self.run_id:
            return False
        if self.root_run_id is not None and run_id_text(s.root_run_id) != self.root_run_id:
            return False
        if self.priced is not None and (s.cost_total is not None) != self.priced:
            return False
        if self.estimated is not None and (s.estimated or s.usage.estimated) != self.estimated:
            return False
        if self.cache_hit is not None:
            hit = s.cache is not None and s.cache.outcome != "miss"
            if hit != self.cache_hit:
                return False
        if not _attempt_matches(self, s.attempt, s.error):
            return False
        if self.tags:
            rec_tags = s.tags
            for k, v in self.tags.items():
                if rec_tags.get(k) != v:
                    return False
        return True

    def narrowed(self, **criteria: object) -> RecordFilter | None:
        """This filter with more criteria (``priced=False``...); ``None`` when they contradict
        one already set, so nothing can match."""
        from dataclasses import replace

        for name, value in criteria.items():
            current = getattr(self, name)
            if current is not None and current != value:
                return None
        return replace(self, **criteria)  # type: ignore[arg-type]


def _attempt_matches(where: RecordFilter, attempt: int, error: str | None) -> bool:
    """The ``failed`` and ``retry`` criteria."""
    if where.failed is not None and (error is not None) != where.failed:
        return False
    return where.retry is None or (attempt > 1 if where.retry else attempt == 1)


def is_estimated(record: CostRecord | RecordView) -> bool:
    """True when the record or its usage is flagged as estimated."""
    return record.estimated or record.usage.estimated
