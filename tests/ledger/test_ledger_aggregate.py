"""The pure aggregation function and RecordFilter, checked against hand-computed numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomy.exceptions import ConfigurationError
from tokenomy.ledger import (
    CacheInfo,
    CostRecord,
    GroupTotals,
    RecordFilter,
    aggregate_records,
    percentile,
)
from tokenomy.pricing import Cost
from tokenomy.usage import Usage

T0 = datetime(2025, 1, 31, 23, 0, tzinfo=UTC)


def rec(**kw: object) -> CostRecord:
    """A record with defaults that the tests override."""
    kw.setdefault("model", "gpt-4o")
    kw.setdefault("timestamp", T0)
    return CostRecord(**kw)  # type: ignore[arg-type]


def test_percentile_is_nearest_rank() -> None:
    """p50/p95/p99 pick an observed value: the ceil(p/100*n)-th smallest."""
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 20.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 95) == 40.0
    assert percentile([7.5], 99) == 7.5
    assert percentile([], 50) is None
    with pytest.raises(ConfigurationError):
        percentile([1.0], 0)


def test_group_totals_by_hand() -> None:
    """Two priced calls, one unpriced, one cache hit: every field of the totals by hand."""
    records = [
        rec(
            usage=Usage(input=1000, output=100, cache_read=200, reasoning=40),
            cost=Cost(
                Decimal("0.0031"),
                {
                    "input": Decimal("0.002"),
                    "cache_read": Decimal("0.0001"),
                    "output": Decimal("0.001"),
                },
            ),
            priced=True,
            latency_ms=300.0,
            timestamp=T0 + timedelta(minutes=5),
        ),
        rec(
            usage=Usage(input=10, output=5, estimated=True),
            cost=Cost(
                Decimal("0.0000175"), {"input": Decimal("0.0000125"), "output": Decimal("0.000005")}
            ),
            priced=True,
            latency_ms=100.0,
        ),
        rec(model="mystery", usage=Usage(input=7, output=3), latency_ms=200.0, estimated=True),
        rec(
            cost=Cost(Decimal(0), {}),
            priced=True,
            cache=CacheInfo(outcome="semantic", saved=Decimal("0.0031"), similarity=0.96),
            timestamp=T0 - timedelta(minutes=1),
        ),
    ]
    [g] = aggregate_records(records)
    assert g.key == {}
    assert g.count == 4
    assert g.cost == Decimal("0.0031175")
    assert g.cost_by_dimension == {
        "input": Decimal("0.0020125"),
        "cache_read": Decimal("0.0001"),
        "output": Decimal("0.001005"),
    }
    assert list(g.cost_by_dimension) == ["input", "cache_read", "output"]
    assert g.unpriced == 1
    assert g.estimated == 2
    assert g.usage == Usage(input=1017, output=108, cache_read=200, reasoning=40, estimated=True)
    assert g.cache_hits == 1
    assert g.saved == Decimal("0.0031")
    assert (g.latency_p50_ms, g.latency_p95_ms, g.latency_p99_ms) == (200.0, 300.0, 300.0)
    assert g.first == T0 - timedelta(minutes=1)
    assert g.last == T0 + timedelta(minutes=5)


def test_group_keys_sorted_with_none_last() -> None:
    """Groups sort by key; a missing tag groups under None, listed last."""
    records = [
        rec(tags={"team": "search"}),
        rec(tags={}),
        rec(tags={"team": "ads"}),
        rec(tags={"team": "search"}),
    ]
    groups = aggregate_records(records, ["team"])
    assert [(g.key, g.count) for g in groups] == [
        ({"team": "ads"}, 1),
        ({"team": "search"}, 2),
        ({"team": None}, 1),
    ]


def test_day_is_the_utc_date_and_run_is_the_root_run() -> None:
    """'day' groups by UTC date whatever the timestamp's zone; 'run' by root_run_id."""
    plus3 = timezone(timedelta(hours=3))
    records = [
        rec(timestamp=datetime(2025, 2, 1, 1, 0, tzinfo=plus3), root_run_id="r1"),  # Jan 31 UTC
        rec(timestamp=datetime(2025, 1, 31, 23, 59), root_run_id="r1"),  # naive = UTC
        rec(timestamp=datetime(2025, 2, 1, 0, 0, tzinfo=UTC), root_run_id="r2"),
    ]
    assert [(g.key, g.count) for g in aggregate_records(records, ["day"])] == [
        ({"day": "2025-01-31"}, 2),
        ({"day": "2025-02-01"}, 1),
    ]
    assert [(g.key, g.count) for g in aggregate_records(records, "run")] == [
        ({"run": "r1"}, 2),
        ({"run": "r2"}, 1),
    ]


def test_tag_prefix_reaches_tags_named_like_builtins() -> None:
    """'tag:model' groups by a tag called 'model', not by the record's model."""
    records = [rec(tags={"model": "router-a"}), rec(model="other", tags={"model": "router-a"})]
    assert [g.key for g in aggregate_records(records, ["tag:model"])] == [{"tag:model": "router-a"}]
    assert len(aggregate_records(records, ["model"])) == 2
    with pytest.raises(ConfigurationError):
        aggregate_records(records, ["tag:"])
    with pytest.raises(ConfigurationError):
        aggregate_records(records, [""])


def test_no_records_no_groups_and_no_latency() -> None:
    """Nothing in, nothing out; a group without latencies has None percentiles."""
    assert aggregate_records([]) == []
    [g] = aggregate_records([rec()])
    assert g.latency_p50_ms is None and g.cost == Decimal(0) and g.unpriced == 1


def test_group_totals_json_dict_keeps_decimals_exact() -> None:
    """to_json_dict() renders money as plain decimal strings (no exponent, no trailing zeros:
    one way for every amount) that parse back exactly, and survives json.dumps."""
    [g] = aggregate_records(
        [rec(cost=Cost(Decimal("0.00000250"), {"input": Decimal("0.00000250")}), priced=True)]
    )
    data = json.loads(json.dumps(g.to_json_dict()))
    assert data["cost"] == "0.0000025" and Decimal(data["cost"]) == Decimal("0.00000250")
    assert data["cost_by_dimension"] == {"input": "0.0000025"}
    assert data["first"] == T0.isoformat()
    assert GroupTotals(key={}).to_json_dict()["first"] is None


def test_record_filter_normalises_and_validates() -> None:
    """models/providers accept one name or many (stored sorted); bad types are rejected."""
    assert RecordFilter(models="a").models == ("a",)
    assert RecordFilter(models=["b", "a", "b"]).models == ("a", "b")
    with pytest.raises(ConfigurationError):
        RecordFilter(tags={"k": 1})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError):
        RecordFilter(since="yesterday")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        RecordFilter(models=[1])  # type: ignore[list-item]


def test_record_filter_time_range_is_half_open() -> None:
    """since is inclusive, until exclusive; naive bounds and timestamps are UTC."""
    f = RecordFilter(since=T0, until=T0 + timedelta(seconds=1))
    assert f.matches(rec(timestamp=T0))
    assert f.matches(rec(timestamp=T0.replace(tzinfo=None)))
    assert not f.matches(rec(timestamp=T0 + timedelta(seconds=1)))
    assert not f.matches(rec(timestamp=T0 - timedelta(microseconds=1)))


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0.01, max_value=1e7, allow_nan=False, allow_infinity=False))
def test_a_latency_bucket_stands_within_one_percent_of_every_latency_in_it(ms: float) -> None:
    """The value a latency bucket stands for (what the SQL stores' percentiles read) is within
    1% of any latency in the bucket, also at its edges (31,889 ms sits near one: the bucket's
    centre is 1.003% above it)."""
    from tokenomy.ledger._rows import bucket_value, lat_bucket

    bucket = lat_bucket(ms)
    assert bucket is not None
    assert abs(bucket_value(bucket) - ms) <= 0.01 * ms
    assert abs(bucket_value(lat_bucket(31889.0) or 0) - 31889.0) <= 0.01 * 31889.0
