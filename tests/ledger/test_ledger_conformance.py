"""The LedgerStore contract, run against every store (memory, SQLite batched and sync, PostgreSQL).

Each expectation is computed independently of the store under test (plain Python over the
records, or the pure aggregation function), so a store that pushes filters into SQL must give
exactly what the reference semantics give.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from ledger_helpers import BASE, assert_same_totals, time_order

from tokenomy.exceptions import ConfigurationError, LedgerError
from tokenomy.ledger import (
    CostRecord,
    GroupTotals,
    LedgerStore,
    MemoryLedger,
    RecordFilter,
    aggregate_records,
)
from tokenomy.pricing import Cost
from tokenomy.usage import Usage


def test_query_returns_every_field_exactly(store: LedgerStore, records: list[CostRecord]) -> None:
    """Stored records come back equal to what was added (Decimals, tags, timestamps, flags),
    including the Cost fields its == leaves out (price model, tier applied, context
    threshold) and the record's service tier and truncation."""
    store.add_many(records)
    got = store.query()
    want = time_order(records)
    assert [r.record_id for r in got] == [r.record_id for r in want]
    assert any(w.cost and w.cost.service_tier and w.cost.context_above for w in want)
    for g, w in zip(got, want, strict=True):
        assert g == w
        assert g.to_json_dict() == w.to_json_dict()
        assert g.timestamp.utcoffset() == w.timestamp.utcoffset()
        assert (g.service_tier, g.truncated) == (w.service_tier, w.truncated)
        if w.cost is not None:
            assert g.cost is not None
            assert (g.cost.model, g.cost.service_tier, g.cost.context_above) == (
                w.cost.model,
                w.cost.service_tier,
                w.cost.context_above,
            )


def test_add_one_at_a_time_and_len(store: LedgerStore, records: list[CostRecord]) -> None:
    """add() stores one record; len() and count() say how many are stored."""
    assert len(store) == 0
    for r in records[:5]:
        store.add(r)
    assert len(store) == 5
    assert store.count() == 5
    assert {r.record_id for r in store.query()} == {r.record_id for r in records[:5]}


def test_same_record_id_is_stored_once(store: LedgerStore, records: list[CostRecord]) -> None:
    """Re-adding a record_id is ignored (first one wins), so a retry never counts twice."""
    first = records[0]
    store.add(first)
    store.add(first.model_copy(update={"model": "other"}))
    store.add_many([first, first])
    assert len(store) == 1
    assert store.query()[0].model == first.model


def test_order_newest_first_and_limit(store: LedgerStore, records: list[CostRecord]) -> None:
    """Oldest first by default (ties in add order), exact reverse with newest_first; limit after."""
    store.add_many(records)
    want = time_order(records)
    ids = [r.record_id for r in want]
    assert ids.index("tie-b") + 1 == ids.index("tie-a")
    assert [r.record_id for r in store.query(limit=3)] == ids[:3]
    assert [r.record_id for r in store.query(newest_first=True)] == ids[::-1]
    assert [r.record_id for r in store.query(newest_first=True, limit=4)] == ids[::-1][:4]
    assert store.query(limit=0) == []


def test_limit_must_be_a_non_negative_int(store: LedgerStore) -> None:
    """A negative or non-int limit is a ConfigurationError, not a silent full scan."""
    with pytest.raises(ConfigurationError):
        store.query(limit=-1)
    with pytest.raises(ConfigurationError):
        store.query(limit=2.5)  # type: ignore[arg-type]


def _est(r: CostRecord) -> bool:
    return r.estimated or r.usage.estimated


def _utc(r: CostRecord) -> datetime:
    ts = r.timestamp
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


SINCE = BASE + timedelta(days=2)
UNTIL = BASE + timedelta(days=5)

FILTER_CASES: list[tuple[str, RecordFilter, Callable[[CostRecord], bool]]] = [
    ("empty", RecordFilter(), lambda r: True),
    ("since", RecordFilter(since=SINCE), lambda r: _utc(r) >= SINCE),
    ("until", RecordFilter(until=UNTIL), lambda r: _utc(r) < UNTIL),
    (
        "range_other_tz_and_naive_bounds",
        RecordFilter(
            since=SINCE.astimezone(timezone(timedelta(hours=-5))),
            until=UNTIL.replace(tzinfo=None),
        ),
        lambda r: SINCE <= _utc(r) < UNTIL,
    ),
    (
        "until_is_exclusive_to_the_microsecond",
        RecordFilter(until=BASE + timedelta(hours=7, microseconds=1)),
        lambda r: _utc(r) < BASE + timedelta(hours=7, microseconds=1),
    ),
    ("tag_env", RecordFilter(tags={"env": "prod"}), lambda r: r.tags.get("env") == "prod"),
    (
        "two_tags",
        RecordFilter(tags={"env": "prod", "team": "search"}),
        lambda r: r.tags.get("env") == "prod" and r.tags.get("team") == "search",
    ),
    (
        "awkward_tag_key",
        RecordFilter(tags={'we"ird.key $[0]': "naïve ✓"}),
        lambda r: r.tags.get('we"ird.key $[0]') == "naïve ✓",
    ),
    ("absent_tag", RecordFilter(tags={"nope": "x"}), lambda r: False),
    ("model", RecordFilter(models=["gpt-4o"]), lambda r: r.model == "gpt-4o"),
    ("model_str", RecordFilter(models="gpt-4o"), lambda r: r.model == "gpt-4o"),
    (
        "models",
        RecordFilter(models={"gpt-4o", "gemini-2.5-pro"}),
        lambda r: r.model in ("gpt-4o", "gemini-2.5-pro"),
    ),
    ("no_models", RecordFilter(models=[]), lambda r: False),
    ("provider", RecordFilter(providers=["anthropic"]), lambda r: r.provider == "anthropic"),
    ("run_id", RecordFilter(run_id="run-5"), lambda r: r.run_id == "run-5"),
    ("root_run_id", RecordFilter(root_run_id="root-1"), lambda r: r.root_run_id == "root-1"),
    ("priced", RecordFilter(priced=True), lambda r: r.cost is not None),
    ("unpriced", RecordFilter(priced=False), lambda r: r.cost is None),
    ("estimated", RecordFilter(estimated=True), _est),
    ("not_estimated", RecordFilter(estimated=False), lambda r: not _est(r)),
    ("cache_hit", RecordFilter(cache_hit=True), lambda r: r.cache.outcome != "miss"),
    ("failed", RecordFilter(failed=True), lambda r: r.error is not None),
    ("not_failed", RecordFilter(failed=False), lambda r: r.error is None),
    ("retry", RecordFilter(retry=True), lambda r: r.attempt > 1),
    ("first_attempt", RecordFilter(retry=False), lambda r: r.attempt == 1),
    ("cache_miss", RecordFilter(cache_hit=False), lambda r: r.cache.outcome == "miss"),
    (
        "combined",
        RecordFilter(
            since=BASE,
            until=UNTIL,
            tags={"env": "prod"},
            models=["gpt-4o", "claude-sonnet-4"],
            priced=True,
            cache_hit=False,
        ),
        lambda r: (
            BASE <= _utc(r) < UNTIL
            and r.tags.get("env") == "prod"
            and r.model in ("gpt-4o", "claude-sonnet-4")
            and r.cost is not None
            and r.cache.outcome == "miss"
        ),
    ),
]


@pytest.mark.parametrize(
    ("where", "keep"), [c[1:] for c in FILTER_CASES], ids=[c[0] for c in FILTER_CASES]
)
def test_filters_select_exactly_the_matching_records(
    store: LedgerStore,
    records: list[CostRecord],
    where: RecordFilter,
    keep: Callable[[CostRecord], bool],
) -> None:
    """query(where) and count(where) select exactly what the plain-Python predicate selects."""
    store.add_many(records)
    want = [r.record_id for r in time_order(records) if keep(r)]
    assert [r.record_id for r in store.query(where)] == want
    assert store.count(where) == len(want)
    assert [r.record_id for r in store.query(where, newest_first=True, limit=2)] == want[::-1][:2]


@pytest.mark.parametrize(
    "by",
    [(), ("model",), ("provider", "kind"), ("day",), ("run",), ("env", "team"), ("tag:model",)],
    ids=lambda b: "+".join(b) or "all",
)
def test_aggregate_equals_the_pure_function(
    store: LedgerStore, records: list[CostRecord], by: tuple[str, ...]
) -> None:
    """aggregate(by) equals aggregate_records over the same records, with and without a filter."""
    store.add_many(records)
    assert_same_totals(store.aggregate(by), aggregate_records(records, by))
    where = RecordFilter(tags={"env": "prod"}, since=BASE)
    assert_same_totals(
        store.aggregate(by, where), aggregate_records([r for r in records if where.matches(r)], by)
    )


def test_totals_add_up_exactly(store: LedgerStore, records: list[CostRecord]) -> None:
    """totals() sums money exactly as Decimal, counts unpriced/estimated/cache hits, sums tokens."""
    store.add_many(records)
    t = store.totals()
    priced = [r for r in records if r.cost is not None]
    assert t.count == len(records)
    assert t.cost == sum((r.cost.total for r in priced if r.cost), Decimal(0))
    assert t.unpriced == len(records) - len(priced)
    assert t.estimated == sum(1 for r in records if _est(r))
    assert t.cache_hits == sum(1 for r in records if r.cache.outcome != "miss")
    assert t.saved == Decimal("0.0125") * t.cache_hits
    assert t.usage.input == sum(r.usage.input for r in records)
    assert t.usage.reasoning == sum(r.usage.reasoning for r in records)
    assert t.cost_by_dimension["cache_read"] == Decimal("2.5E-7") * sum(
        1 for r in priced if r.cost and "cache_read" in r.cost.parts
    )
    assert t.first == min(records, key=_utc).timestamp
    assert t.last == max(records, key=_utc).timestamp


def test_many_small_amounts_sum_without_rounding(store: LedgerStore) -> None:
    """A thousand $0.1 calls and a thousand $0.0000001 calls total exactly $100.0001."""
    recs = [
        CostRecord(
            record_id=f"r{i}",
            model="m",
            cost=Cost(total=Decimal("0.1") if i % 2 else Decimal("1E-7"), parts={}),
            priced=True,
            timestamp=BASE + timedelta(seconds=i),
        )
        for i in range(2000)
    ]
    store.add_many(recs)
    assert store.totals().cost == Decimal("100.0001")
    assert store.totals(RecordFilter(since=BASE + timedelta(seconds=1000))).cost == Decimal(
        "50.00005"
    )


def test_empty_store_totals_are_zero(store: LedgerStore) -> None:
    """With no records: aggregate() is empty, totals() a zero group with no timestamps."""
    assert store.aggregate(["model"]) == []
    assert store.totals() == GroupTotals(key={})
    assert store.totals().cost == Decimal(0)
    assert store.query() == []


def test_mark_usable_sets_the_flag(store: LedgerStore, records: list[CostRecord]) -> None:
    """mark_usable() updates one stored record and says False for an unknown id."""
    store.add_many(records[:3])
    rid = records[0].record_id
    assert store.mark_usable(rid, False) is True
    assert store.mark_usable("no-such-record", True) is False
    by_id = {r.record_id: r for r in store.query()}
    assert by_id[rid].usable is False
    assert by_id[records[1].record_id].usable == records[1].usable
    store.mark_usable(rid, True)
    assert {r.record_id: r for r in store.query()}[rid].usable is True


def test_concurrent_adds_from_threads(store: LedgerStore) -> None:
    """Eight threads adding at once lose nothing and the total is exact."""

    def work(t: int) -> None:
        for i in range(150):
            store.add(
                CostRecord(
                    record_id=f"t{t}-{i}",
                    model=f"m{t % 2}",
                    cost=Cost(total=Decimal("0.003"), parts={"input": Decimal("0.003")}),
                    priced=True,
                    usage=Usage(input=3),
                )
            )

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    store.flush()
    assert len(store) == 1200
    assert store.totals().cost == Decimal("3.600")
    assert [g.count for g in store.aggregate(["model"])] == [600, 600]


def test_closed_store_refuses_use(open_store: Callable[[], LedgerStore]) -> None:
    """The context manager closes the store; using it afterwards raises LedgerError."""
    with open_store() as store:
        store.add(CostRecord(model="m"))
    with pytest.raises(LedgerError):
        store.add(CostRecord(model="m"))
    with pytest.raises(LedgerError):
        store.query()
    store.close()  # idempotent


def test_iter_records_streams_what_query_returns(
    store: LedgerStore, records: list[CostRecord]
) -> None:
    """iter_records() yields exactly query()'s records in the same order (newest first too);
    the SQL stores hand out a generator reading in batches (constant memory), not a list."""
    import inspect

    store.add_many(records)
    where = RecordFilter(tags={"env": "prod"})
    assert list(store.iter_records()) == store.query()
    assert list(store.iter_records(where, newest_first=True)) == store.query(
        where, newest_first=True
    )
    if not isinstance(store, MemoryLedger):
        assert inspect.isgenerator(store.iter_records())
