"""Schema v7 (the monthly rollup of the report's partial groups, ``ledger/_rollup.py``, and
the runs' count): a ledger written at schema v6 migrates filling them from its rows in one
pass; the writer adds exactly the rows (and runs) it inserted (a duplicate ignored adds nothing, a group's sums stay right when
one batch has no amount and the next has one); the report reads the rollup for whole UTC months
and the records for the rest, with the same totals as the exact Python aggregation.

The v6 SQLite ledger is written the way the previous code wrote it: the migration steps up to
v6 (unchanged) and its rows, runs and used columns. The v6 PostgreSQL ledger is a current one
whose rollup and runs' count are dropped and whose version is set back to 6 (v7 adds those
two tables alone).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_helpers import (
    assert_same_totals,
    drop_schema,
    make_records,
    require_postgres,
    write_sqlite_at,
)

from tokenomy.ledger import (
    CostRecord,
    PostgresLedger,
    RecordFilter,
    SQLiteLedger,
    aggregate_records,
)
from tokenomy.ledger._rollup import KEYS, create_sql, fill_sql, month_bounds
from tokenomy.ledger._sqlite_schema import (
    COUNTS,
    ROLLUP,
    SCHEMA_VERSION,
    TABLE,
)
from tokenomy.ledger._store import latest_runs
from tokenomy.pricing import Cost

BYS: list[tuple[str, ...]] = [(), ("model",), ("env",), ("month",), ("month", "team"), ("day",)]


def _records() -> list[CostRecord]:
    """The varied records spread over four UTC months (one every 2.5 days from March 1)."""
    out = []
    for i, r in enumerate(make_records()):
        ts = datetime(2025, 3, 1, 9, 30, tzinfo=UTC) + timedelta(hours=60 * i, microseconds=i)
        out.append(r.model_copy(update={"timestamp": ts}))
    return out


FILTERS = [
    None,
    RecordFilter(since=datetime(2025, 4, 1, tzinfo=UTC)),  # whole months from April
    RecordFilter(since=datetime(2025, 3, 20, tzinfo=UTC), until=datetime(2025, 5, 9, tzinfo=UTC)),
    RecordFilter(until=datetime(2025, 5, 1, tzinfo=UTC), tags={"env": "prod"}),
    RecordFilter(since=datetime(2025, 3, 20, tzinfo=UTC), models=["gpt-4o"], failed=False),
    RecordFilter(since=datetime(2025, 4, 2, tzinfo=UTC), until=datetime(2025, 4, 20, tzinfo=UTC)),
    RecordFilter(priced=True),  # not in the rollup's key: the records
]


def _check_reports(store: SQLiteLedger | PostgresLedger, records: list[CostRecord]) -> None:
    for where in FILTERS:
        kept = [r for r in records if where is None or where.matches(r)]
        found = store.aggregate_many(BYS, where)
        for by, got in zip(BYS, found, strict=True):
            assert_same_totals(got, aggregate_records(kept, by))


def _sources(
    store: SQLiteLedger | PostgresLedger, bys: list[tuple[str, ...]], where: RecordFilter | None
) -> list[str]:
    """The tables the report's grouping statements read (captured, not run; the other
    statements run)."""
    agg = store._agg()
    seen: list[str] = []
    fetch = agg._fetch

    def capture(sql: str, params: list[object]) -> list[object]:
        if "GROUP BY" not in sql:
            return list(fetch(sql, params))
        seen.append(sql)
        return []

    agg._fetch_groups = capture  # type: ignore[method-assign]
    agg._fetch = capture  # type: ignore[method-assign]
    agg.aggregate_many(bys, where)
    rollup = store._agg().d.rollup
    return ["rollup" if f"FROM {rollup}" in s else "records" for s in seen]


def write_v6_sqlite(path: Path, records: list[CostRecord]) -> None:
    """A SQLite ledger as schema v6 left it."""
    write_sqlite_at(6, path, records)


def _rollup_rows(fetch: object, rollup: str) -> list[tuple[object, ...]]:
    order = ", ".join(f"{k} IS NULL, {k}" for k in KEYS)
    return [tuple(r) for r in fetch(f"SELECT * FROM {rollup} ORDER BY {order}")]  # type: ignore[operator]


def _same_as_one_pass(
    fetch: object, run: object, table: str, rollup: str, check: str, *, pg: bool
) -> None:
    """The rollup equals the one built from every stored row in one GROUP BY pass (into the
    table ``check``)."""
    for statement in create_sql(check, "rollup_check_key", pg=pg).split(";"):
        run(statement)  # type: ignore[operator]
    run(fill_sql(table, check, "WHERE true", pg=pg))  # type: ignore[operator]
    try:
        assert _rollup_rows(fetch, rollup) == _rollup_rows(fetch, check)
    finally:
        run(f"DROP TABLE {check}")  # type: ignore[operator]


def test_sqlite_v6_ledger_migrates_filling_the_rollup(tmp_path: Path) -> None:
    """A v6 ledger read read-only keeps v6's path (exact, from the records); opened for writing
    it migrates to v7 keeping every record, its rollup filled as one pass over the rows gives
    it, and every report (whole months, cut months, tags, models, a filter outside the key)
    equals the exact Python aggregation."""
    path = tmp_path / "v6.db"
    records = _records()
    write_v6_sqlite(path, records)
    with SQLiteLedger(path, read_only=True) as old:
        assert old.schema_version == 6 and old._agg().d.rollup == ""
        _check_reports(old, records)
    with SQLiteLedger(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 7
        assert {r.record_id: r for r in store.query()} == {r.record_id: r for r in records}
        _check_reports(store, records)
        assert store._wconn is not None
        conn = store._wconn

        def fetch(sql: str) -> list[tuple[object, ...]]:
            return conn.execute(sql).fetchall()

        assert fetch(f"SELECT SUM(n) FROM {ROLLUP}") == [(len(records),)]
        assert fetch(f"SELECT runs FROM {COUNTS}") == [(latest_runs(records, 0).total,)]
        assert len({r[0] for r in fetch(f"SELECT month_us FROM {ROLLUP}")}) == 4
        _same_as_one_pass(fetch, conn.execute, TABLE, ROLLUP, "rollup_check", pg=False)


def _v6_postgres(url: str, schema: str, records: list[CostRecord]) -> None:
    """A PostgreSQL ledger as v6 left it: a current one without the rollup and the runs'
    count, at version 6."""
    with PostgresLedger(url, schema=schema, sync=True) as store:
        store.add_many(records)
        with store._wconn.lock:
            conn = store._wconn.get()
            conn.execute(f"DROP TABLE {store._dialect.rollup}")
            conn.execute(f"DROP TABLE {store._dialect.run_count}")
            conn.execute(
                f'UPDATE "{schema}".tokenomy_records_meta SET value = %s WHERE key = %s',
                ["6", "schema_version"],
            )


def test_postgres_v6_ledger_migrates_filling_the_rollup() -> None:
    """The same on PostgreSQL: read read-only at v6 from the records; migrated, the rollup
    is filled in one pass (NUMERIC sums) and the reports equal the Python aggregation."""
    url = require_postgres()
    schema = f"tkn_v7_{uuid.uuid4().hex[:10]}"
    records = _records()
    try:
        _v6_postgres(url, schema, records)
        with PostgresLedger(url, schema=schema, read_only=True) as old:
            assert old.schema_version == 6 and old._dialect.rollup == ""
            _check_reports(old, records)
        with PostgresLedger(url, schema=schema, sync=True) as store:
            assert store.schema_version == 7
            assert {r.record_id: r for r in store.query()} == {r.record_id: r for r in records}
            _check_reports(store, records)
            rollup = store._dialect.rollup
            with store._wconn.lock:
                conn = store._wconn.get()
                assert conn.execute(f"SELECT SUM(n) FROM {rollup}").fetchall() == [(len(records),)]
                counts = store._dialect.run_count
                runs = latest_runs(records, 0).total
                assert conn.execute(f"SELECT runs FROM {counts}").fetchall() == [(runs,)]
                _same_as_one_pass(
                    lambda sql: conn.execute(sql).fetchall(),
                    conn.execute,
                    store._dialect.table,
                    rollup,
                    f'"{schema}".rollup_check',
                    pg=True,
                )
    finally:
        drop_schema(schema)


@pytest.fixture(params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[SQLiteLedger | PostgresLedger]:
    """An empty v7 ledger of each SQL kind (sync writes)."""
    if request.param == "sqlite":
        with SQLiteLedger(tmp_path / "v7.db", sync=True) as lite:
            yield lite
        return
    url = require_postgres()
    schema = f"tkn_v7_{uuid.uuid4().hex[:10]}"
    try:
        with PostgresLedger(url, schema=schema, sync=True) as pg:
            yield pg
    finally:
        drop_schema(schema)


def _same_key(base: CostRecord, i: int, **update: object) -> CostRecord:
    return base.model_copy(update={"record_id": f"same-{i}", "run_id": f"same-{i}", **update})


def test_the_writer_adds_only_the_rows_it_inserts(store: SQLiteLedger | PostgresLedger) -> None:
    """Batches into one rollup row (an unpriced call, then priced ones: a sum NULL until a
    batch has an amount), a batch mixing duplicates and new records, and one of duplicates
    alone: the rollup equals one pass over the stored rows, and the reports are exact."""
    base = _records()[0].model_copy(update={"latency_ms": 250.0, "error": None, "attempt": 1})
    assert base.cost is not None
    unpriced = _same_key(base, 0, cost=None, priced=False, billed_usd=None)
    priced = [_same_key(base, i, billed_usd=Decimal("0.5")) for i in (1, 2)]
    others = _records()[1:12]
    store.add_many([unpriced])
    store.add_many([priced[0]])
    store.add_many([unpriced, priced[0], priced[1], *others[:5]])  # two duplicates, six new
    store.add_many([priced[1], *others[:5]])  # duplicates alone
    store.add_many(others[5:])
    stored = [unpriced, *priced, *others]
    assert store.count() == len(stored)
    # the runs counted by the writer (duplicates' runs once): every run's count reads them
    counted = store._agg()._fetch(f"SELECT runs FROM {store._agg().d.run_count}", [])
    assert counted[0][0] == store.run_page(None, 0).total == latest_runs(stored, 0).total
    for by in BYS:
        assert_same_totals(store.aggregate(by), aggregate_records(stored, by))
    if isinstance(store, SQLiteLedger):
        assert store._wconn is not None
        lite = store._wconn
        _same_as_one_pass(
            lambda s: lite.execute(s).fetchall(), lite.execute, TABLE, ROLLUP, "rollup_check",
            pg=False,
        )  # fmt: skip
    else:
        with store._wconn.lock:
            conn = store._wconn.get()
            _same_as_one_pass(
                lambda s: conn.execute(s).fetchall(),
                conn.execute,
                store._dialect.table,
                store._dialect.rollup,
                store._dialect.rollup.rsplit(".", 1)[0] + ".rollup_check",
                pg=True,
            )


def test_the_report_reads_the_rollup_for_whole_months(store: SQLiteLedger | PostgresLedger) -> None:
    """Whole months (or no time filter) and groupings in the key read the rollup alone; a
    filter cutting a month reads the rollup and the records of the edges; hour/day/run
    groupings and filters outside the key read the records."""
    store.add_many(_records())
    cut = RecordFilter(since=datetime(2025, 3, 20, tzinfo=UTC))
    whole = RecordFilter(since=datetime(2025, 4, 1, tzinfo=UTC), tags={"env": "prod"})
    assert _sources(store, [(), ("env",)], None) == ["rollup", "rollup"]
    assert _sources(store, [("month", "model")], whole) == ["rollup", "rollup"]
    assert _sources(store, [("env",)], cut) == ["rollup", "rollup", "records", "records"]
    assert _sources(store, [("day",)], None) == ["records", "records"]
    assert _sources(store, [()], RecordFilter(root_run_id="x")) == ["records", "records"]
    inside = RecordFilter(
        since=datetime(2025, 4, 2, tzinfo=UTC), until=datetime(2025, 4, 9, tzinfo=UTC)
    )
    assert _sources(store, [()], inside) == ["records", "records"]


def test_month_bounds_split_a_range_into_whole_months_and_edges() -> None:
    """``month_bounds``: the whole UTC months inside a half-open range and its edges."""

    def us(*args: int) -> int:
        return (datetime(*args, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
            microseconds=1
        )

    assert month_bounds(None, None) == (None, None, [])
    assert month_bounds(us(2025, 3, 1), us(2025, 5, 1)) == (us(2025, 3, 1), us(2025, 5, 1), [])
    assert month_bounds(us(2025, 3, 20), None) == (
        us(2025, 4, 1), None, [(us(2025, 3, 20), us(2025, 4, 1))],
    )  # fmt: skip
    assert month_bounds(us(2024, 12, 5), us(2025, 2, 3)) == (
        us(2025, 1, 1), us(2025, 2, 1),
        [(us(2024, 12, 5), us(2025, 1, 1)), (us(2025, 2, 1), us(2025, 2, 3))],
    )  # fmt: skip
    assert month_bounds(us(2025, 3, 2), us(2025, 3, 30)) is None  # no whole month
    assert month_bounds(us(1969, 12, 31, 23), None) == (0, None, [(us(1969, 12, 31, 23), 0)])


def test_sqlite_sums_past_64_bits_are_summed_exactly(tmp_path: Path) -> None:
    """Two $4.6M calls in one rollup row (2**62 + 1 picodollars each): SQLite's update leaves
    the 64-bit integers (a REAL, which would round the sum); the report sees it and sums the
    records instead, exactly."""
    base = _records()[0].model_copy(update={"latency_ms": 250.0, "billed_usd": None})
    amount = Decimal("4611686.018427387905")
    big = Cost(amount, {"input": amount}, model="m")
    recs = [_same_key(base, i, cost=big) for i in range(2)]
    with SQLiteLedger(tmp_path / "big.db", sync=True) as lite:
        lite.add_many(recs[:1])
        lite.add_many(recs[1:])
        assert lite._rconn is not None
        kinds = lite._rconn.execute(f"SELECT typeof(cost_p) FROM {ROLLUP}").fetchall()
        assert kinds == [("real",)]
        assert lite.totals().cost == 2 * amount
        assert_same_totals(lite.aggregate(("month",)), aggregate_records(recs, ("month",)))


def test_the_rollup_key_is_the_reports_inner_group_key() -> None:
    """The rollup is keyed by the month and exactly the inner GROUP BY's columns and flags."""
    from tokenomy.ledger._sql_sums import FLAG_KEYS

    inner = ("tagset", "model", "provider", "kind", "lat_bucket", *FLAG_KEYS)
    assert KEYS[1:] == inner and KEYS[0] == "month_us"


def test_an_empty_batch_writes_nothing(store: SQLiteLedger | PostgresLedger) -> None:
    """A batch of no records commits nothing and raises nothing (the rollup reads back no
    inserted row: PostgreSQL's insert has no ``RETURNING`` result to read)."""
    store._commit([])
    store.add_many(_records()[:3])
    store._commit([])
    assert store.count() == 3
    assert store.totals().count == 3


def test_concurrent_writers_keep_the_rollup_exact(tmp_path: Path) -> None:
    """Four stores on one ledger writing the same records at once, in batches cut
    differently (a batch holding records another writer is inserting, and new ones): no
    deadlock (the
    rollup's rows are upserted in key order), every record counted once in the rollup and the
    runs' count, on SQLite and PostgreSQL."""
    import threading

    base = _records()
    recs = [
        r.model_copy(update={"record_id": f"c{k}-{r.record_id}", "run_id": f"c{k}-{r.run_id}"})
        for k in range(6)
        for r in base
    ]

    def hammer(make: object) -> list[SQLiteLedger | PostgresLedger]:
        stores = [make() for _ in range(4)]  # type: ignore[operator]
        errors: list[BaseException] = []

        def write(i: int, s: SQLiteLedger | PostgresLedger) -> None:
            try:
                # the same records in the same order, each writer's batches (one transaction
                # each: sync) cut differently: at the frontier a batch holds records another
                # writer inserted or is inserting (its insert waits, then ignores them) and
                # new ones
                step = 5 + 4 * i
                for lo in range(0, len(recs), step):
                    s.add_many(recs[lo : lo + step])
                s.flush()
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(i, s)) for i, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        return stores

    path = tmp_path / "busy.db"
    lite = hammer(lambda: SQLiteLedger(path, sync=True))
    try:
        assert lite[0].count() == len(recs)
        for by in BYS[:5]:
            assert_same_totals(lite[0].aggregate(by), aggregate_records(recs, by))
        assert lite[0].run_page(None, 0).total == latest_runs(recs, 0).total
    finally:
        for s in lite:
            s.close()
    url = require_postgres()
    schema = f"tkn_v7_{uuid.uuid4().hex[:10]}"
    PostgresLedger(url, schema=schema).close()
    pg: list[SQLiteLedger | PostgresLedger] = []
    try:
        pg = hammer(lambda: PostgresLedger(url, schema=schema, sync=True))
        assert pg[0].count() == len(recs)
        for by in BYS[:5]:
            assert_same_totals(pg[0].aggregate(by), aggregate_records(recs, by))
        assert pg[0].run_page(None, 0).total == latest_runs(recs, 0).total
    finally:
        for s in pg:
            s.close()
        drop_schema(schema)
