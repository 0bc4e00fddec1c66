"""Property: every store's aggregation equals the exact Python aggregation of the same records.

For random records (money with 0 to 14 decimal places, so some amounts do not fit the SQL
stores' picodollar columns; cost parts of other dimensions; random tags, zones, latencies,
cache outcomes, provider bills equal to, near or far from the price-book cost, attempts and
errors), random filters and random groupings, each store's ``aggregate``, ``aggregate_many``,
``aggregate_report`` and ``attempt_totals`` (the first, retried and failed attempts: a report's
retries), ``most_expensive``, ``run_page`` and ``unpriced_models`` equal the pure
functions over the records the filter keeps: every figure exactly (money as the exact
``Decimal`` sum), the latency percentiles exactly or, where the store says they are
approximate, within 1%.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_helpers import assert_same_totals, drop_schema, require_postgres

from tokenomy.ledger import (
    CacheInfo,
    CostRecord,
    GroupTotals,
    LedgerStore,
    MemoryLedger,
    PostgresLedger,
    RecordFilter,
    SQLiteLedger,
    aggregate_records,
)
from tokenomy.ledger._store import attempts_from, latest_runs, top_costs
from tokenomy.pricing import Cost
from tokenomy.usage import Usage

T0 = datetime(2026, 1, 30, 22, 0, tzinfo=UTC)
MODELS = ("gpt-4o", "claude-sonnet-4", "gemini-2.5-pro")
PROVIDERS = ("openai", "anthropic", None)
TAG_KEYS = ("feature", "user", "model")
TAG_VALUES = ("a", "b", "c ✓", "")
DIMENSIONS = (
    "input",
    "cache_read",
    "cache_write_5m",
    "output",
    "reasoning",
    "request",
    "web_search",
)
ROLLUP_NAMES = ("model", "provider", "kind", "month", "feature", "user", "tag:model")
# UTC month starts around the records (the rollup answers whole months from its rows; a
# filter cutting a month reads that month's records)
MONTHS = (
    *(datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3, 4, 5)),
    datetime(2026, 3, 1, 1, tzinfo=timezone(timedelta(hours=1))),  # 2026-03-01T00:00Z
)
BY_NAMES = (
    "model", "provider", "kind", "hour", "day", "month", "run", "feature", "user", "tag:model",
)  # fmt: skip


@st.composite
def money(draw: st.DrawFn, exact: bool = False) -> Decimal:
    places = draw(st.sampled_from((0, 2, 6, 9, 12, 12, 12) if exact else (0, 2, 6, 9, 12, 12, 12, 14)))
    return Decimal(draw(st.integers(0, 5 * 10**places))).scaleb(-places)


@st.composite
def records(draw: st.DrawFn) -> list[CostRecord]:
    out = []
    # half the examples in picodollars only: those are summed in SQL (the others in Python)
    exact = draw(st.booleans())
    for i in range(draw(st.integers(0, 25))):
        inp = draw(st.integers(0, 5000))
        cache_read = draw(st.integers(0, inp))
        cw = draw(st.integers(0, inp - cache_read))
        out_tokens = draw(st.integers(0, 2000))
        usage = Usage(
            input=inp,
            output=out_tokens,
            cache_read=cache_read,
            cache_write_5m=cw,
            reasoning=draw(st.integers(0, out_tokens)),
            estimated=draw(st.booleans()),
        )
        cost = None
        if draw(st.booleans()) or draw(st.booleans()):
            dims = draw(st.lists(st.sampled_from(DIMENSIONS), unique=True, max_size=3))
            cost = Cost(draw(money(exact)), {d: draw(money(exact)) for d in dims}, model="m")
        outcome = draw(st.sampled_from(("miss", "miss", "exact", "semantic")))
        saved = draw(st.none() | money(exact))
        offset = timezone(timedelta(hours=draw(st.integers(-11, 12))))
        # a provider's bill: none, any amount, the cost itself, or at/over the 3% tolerance
        book = None if cost is None else cost.total
        near = [] if book is None else [book, book * Decimal("1.03"), book / Decimal("0.96")]
        if exact:  # in picodollars: to 12 places
            near = [b.quantize(Decimal("1E-12")) for b in near]
        billed = draw(st.none() | st.none() | money(exact) | st.sampled_from([None, *near]))
        # over five days across a month's end, or over four months (the rollup's whole months)
        span = draw(st.sampled_from((60 * 24 * 5, 60 * 24 * 120)))
        ts = T0 + timedelta(minutes=draw(st.integers(0, span)), microseconds=i)
        root = draw(st.sampled_from((None, "root-1", "root-2", "root-3")))
        out.append(
            CostRecord(
                record_id=f"r{i:03d}",
                run_id=draw(st.sampled_from((None, f"run-{i}", "shared"))),
                root_run_id=root,
                timestamp=ts.astimezone(offset),
                provider=draw(st.sampled_from(PROVIDERS)),
                model=draw(st.sampled_from(MODELS)),
                kind=draw(st.sampled_from(("chat", "embedding"))),
                usage=usage,
                cost=cost,
                priced=cost is not None,
                estimated=draw(st.booleans()),
                latency_ms=draw(st.none() | st.floats(0, 100_000, allow_nan=False)),
                tags=draw(st.dictionaries(st.sampled_from(TAG_KEYS), st.sampled_from(TAG_VALUES))),
                cache=CacheInfo(outcome=outcome, saved=saved),
                truncated=draw(st.booleans()),
                billed_usd=billed,
                attempt=draw(st.sampled_from((0, 1, 1, 1, 2, 3))),
                error=draw(st.sampled_from((None, None, None, "RateLimitError", "APITimeoutError"))),
            )
        )
    return out


@st.composite
def filters(draw: st.DrawFn) -> RecordFilter | None:
    if draw(st.booleans()):
        return None
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        kw["since"] = draw(
            st.sampled_from(MONTHS) | st.builds(lambda h: T0 + timedelta(hours=h), st.integers(0, 72))
        )
    if draw(st.booleans()):
        kw["until"] = draw(
            st.sampled_from(MONTHS[1:])
            | st.builds(lambda h: T0 + timedelta(hours=h), st.integers(24, 130))
            | st.builds(lambda d: T0 + timedelta(days=d, microseconds=7), st.integers(35, 110))
        )
    if "since" in kw and "until" in kw and kw["since"] >= kw["until"]:
        del kw["since"]
    if draw(st.booleans()):
        kw["tags"] = {draw(st.sampled_from(TAG_KEYS)): draw(st.sampled_from(TAG_VALUES))}
    if draw(st.booleans()):
        kw["models"] = draw(st.lists(st.sampled_from(MODELS), max_size=2))
    for name in ("priced", "estimated", "cache_hit", "failed", "retry"):
        if draw(st.integers(0, 3)) == 0:
            kw[name] = draw(st.booleans())
    return RecordFilter(**kw)


# the names of the rollup's key (tags, model, provider, kind, month) half the time
groupings = st.sampled_from((BY_NAMES, ROLLUP_NAMES)).flatmap(
    lambda names: st.lists(
        st.lists(st.sampled_from(names), max_size=2, unique=True).map(tuple),
        min_size=1,
        max_size=3,
    )
)


def check(store: LedgerStore, recs: list[CostRecord], where: RecordFilter | None, bys: Any) -> None:
    """The store's figures equal the pure functions over the kept records."""
    kept = sorted(
        (r for r in recs if where is None or where.matches(r)),
        key=lambda r: r.timestamp,
    )
    for by, got in zip(bys, store.aggregate_many(bys, where), strict=True):
        assert_same_totals(got, aggregate_records(kept, by))
    found, attempts = store.aggregate_report(bys, where)
    for by, got in zip(bys, found, strict=True):
        assert_same_totals(got, aggregate_records(kept, by))

    def totals(w: RecordFilter) -> GroupTotals:
        return (aggregate_records([r for r in recs if w.matches(r)], ()) or [GroupTotals({})])[0]

    assert attempts == attempts_from(totals, where)
    assert store.attempt_totals(where) == attempts
    assert_same_totals(store.aggregate(bys[0], where), aggregate_records(kept, bys[0]))
    assert store.most_expensive(3, where) == top_costs(kept, 3)
    for limit in (None, 0, 1, 2):
        page, want = store.run_page(where, limit), latest_runs(kept, limit)
        assert page.total == want.total
        assert {r.record_id for r in page.records} == {r.record_id for r in want.records}
    unpriced: dict[str, int] = {}
    for r in kept:
        if r.cost is None:
            unpriced[r.model] = unpriced.get(r.model, 0) + 1
    assert store.unpriced_models(where) == unpriced


def _clear(store: LedgerStore) -> None:
    """Empty the store: its records, runs (and their count), used sparse columns (so that
    each example starts with none listed, and the report skips the columns its records leave
    empty) and monthly rollup."""
    if isinstance(store, SQLiteLedger):
        assert store._wconn is not None
        store._wconn.execute("DELETE FROM cost_records")
        store._wconn.execute("DELETE FROM cost_runs")
        store._wconn.execute("DELETE FROM cost_used")
        store._wconn.execute("DELETE FROM cost_rollup")
        store._wconn.execute("UPDATE cost_counts SET runs = 0")
        store._used.known.clear()
    elif isinstance(store, PostgresLedger):
        from psycopg import sql

        with store._wconn.lock:
            store._wconn.get().execute(sql.SQL("DELETE FROM {}").format(store._ident))
            store._wconn.get().execute(f"DELETE FROM {store._dialect.runs}")
            store._wconn.get().execute(f"DELETE FROM {store._dialect.used}")
            store._wconn.get().execute(f"DELETE FROM {store._dialect.rollup}")
            store._wconn.get().execute(f"UPDATE {store._dialect.run_count} SET runs = 0")
        store._used.known.clear()


_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def reopenable(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], LedgerStore]]:
    """A function giving an empty store of each kind (the same one, emptied, each time)."""
    kind = request.param
    if kind == "memory":
        yield MemoryLedger
        return
    schema = None
    if kind == "sqlite":
        store: LedgerStore = SQLiteLedger(tmp_path / "prop.db", sync=True)
    else:
        url = require_postgres()
        schema = f"tkn_prop_{uuid.uuid4().hex[:10]}"
        store = PostgresLedger(url, schema=schema, sync=True)

    def fresh() -> LedgerStore:
        _clear(store)
        return store

    yield fresh
    store.close()
    if schema is not None:
        drop_schema(schema)


@_SETTINGS
@given(recs=records(), where=filters(), bys=groupings, cut=st.integers(0, 25))
def test_store_aggregation_equals_exact_python_aggregation(
    reopenable: Callable[[], LedgerStore],
    recs: list[CostRecord],
    where: RecordFilter | None,
    bys: list[tuple[str, ...]],
    cut: int,
) -> None:
    """For random records (over days or months), filters (whole UTC months or cutting them)
    and groupings, the store's totals, groups (money exactly), attempt figures, most expensive
    calls, run page and unpriced models equal the exact Python aggregation; records written
    in two batches, the second holding the first again (duplicates, ignored), then a batch of
    duplicates alone, count once (the SQL stores' monthly rollup adds only the rows
    inserted)."""
    store = reopenable()
    store.add_many(recs[:cut])
    store.flush()
    store.add_many(recs)
    store.flush()
    store.add_many(recs[:cut])
    check(store, recs, where, bys)
