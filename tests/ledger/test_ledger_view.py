"""``RecordView``: a record's values read without pydantic, equal to the ``CostRecord``'s.

The report prints the views the SQL stores read (``row_to_view``), so for any record: the
view's fields are the record's (names, order), its export dict is the record's, its
conveniences agree, and :meth:`RecordView.to_record` is the record ``row_to_record`` reads;
the stored-call and row layouts derived from the view's fields equal those derived from the
pydantic model (the modules derive them from the view, to import no pydantic).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tokenomy.ledger import CacheInfo, CostRecord
from tokenomy.ledger._rows import _PLAIN_MONEY, record_to_row, row_to_record, row_to_view
from tokenomy.ledger._stored import PLAIN_FIELDS, StoredCall
from tokenomy.ledger._view import MISS_VIEW, RECORD_FIELDS, CacheView, RecordView
from tokenomy.pricing import Cost
from tokenomy.usage import Usage

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)


@st.composite
def money(draw: st.DrawFn) -> Decimal:
    places = draw(st.sampled_from((0, 2, 6, 12, 14)))
    return Decimal(draw(st.integers(-(10**places), 5 * 10**places))).scaleb(-places)


@st.composite
def any_record(draw: st.DrawFn) -> CostRecord:
    """A record with every field drawn: zones (whole minutes, or none), odd floats, hits."""
    cost = None
    if draw(st.booleans()):
        dims = draw(st.lists(st.sampled_from(("input", "output", "cache_read", "request")),
                             unique=True, max_size=3))  # fmt: skip
        cost = Cost(draw(money()), {d: draw(money()) for d in dims}, model="m")
    ts = T0 + timedelta(microseconds=draw(st.integers(0, 10**12)))
    zone = draw(st.sampled_from(("utc", "naive", "offset")))
    if zone == "naive":
        ts = ts.replace(tzinfo=None)
    elif zone == "offset":
        ts = ts.astimezone(timezone(timedelta(minutes=draw(st.integers(-23 * 60, 23 * 60)))))
    hit = draw(st.sampled_from(("miss", "miss", "exact", "semantic")))
    cache = CacheInfo(
        outcome=hit,
        saved=draw(st.none() | money()),
        similarity=draw(st.none() | st.floats(0, 1)),
    )
    cr, cw5, cw1, reasoning = draw(st.lists(st.integers(0, 10**6), min_size=4, max_size=4))
    usage = Usage(
        input=cr + cw5 + cw1 + draw(st.integers(0, 10**9)),
        output=reasoning + draw(st.integers(0, 10**6)),
        cache_read=cr,
        cache_write_5m=cw5,
        cache_write_1h=cw1,
        reasoning=reasoning,
        estimated=draw(st.booleans()),
    )
    floats = st.none() | st.floats(allow_nan=False) | st.sampled_from((0.0, -0.0, 1e300))
    return CostRecord(
        record_id=draw(_text),
        run_id=draw(st.none() | _text),
        parent_run_id=draw(st.none() | _text),
        root_run_id=draw(st.none() | _text),
        timestamp=ts,
        provider=draw(st.none() | _text),
        model=draw(_text),
        kind=draw(st.sampled_from(("chat", "completion", "embedding", "other"))),
        usage=usage,
        cost=cost,
        priced=cost is not None,
        estimated=draw(st.booleans()),
        latency_ms=draw(floats),
        ttft_ms=draw(floats),
        streamed=draw(st.booleans()),
        tags=draw(st.dictionaries(_text, _text, max_size=3)),
        cache=cache,
        attempt=draw(st.integers(0, 5)),
        error=draw(st.none() | _text),
        usable=draw(st.none() | st.booleans()),
        service_tier=draw(st.none() | _text),
        name=draw(st.none() | _text),
        framework=draw(st.none() | _text),
        truncated=draw(st.booleans()),
        billed_usd=draw(st.none() | money()),
        prefix_hash=draw(st.none() | _text),
        request_hash=draw(st.none() | _text),
        prefix_tokens=draw(st.none() | st.integers(0, 10**6)),
        message_count=draw(st.none() | st.integers(0, 100)),
        prompt_text=draw(st.none() | _text),
    )


def _same(view: RecordView, record: CostRecord) -> None:
    assert view.to_json_dict() == record.to_json_dict()
    assert list(view.to_json_dict()) == list(record.to_json_dict())  # the keys' order too
    assert view.charged_usd == record.charged_usd
    assert view.total_cost == record.total_cost
    assert view.billed_mismatch == record.billed_mismatch
    assert view.is_cache_hit == record.is_cache_hit


@settings(max_examples=300, deadline=None)
@given(any_record())
def test_a_view_reads_as_its_record(record: CostRecord) -> None:
    """A view of a record, and the view of its SQL row, export the record's dict and agree on
    its conveniences; the row's view builds the record ``row_to_record`` reads, equal to the
    one written."""
    of = RecordView.of(record)
    assert of.to_record() is record
    _same(of, record)
    row = record_to_row(record)
    read = row_to_record(row)
    assert read == record
    view = row_to_view(row)
    _same(view, read)
    assert view._record is None  # written by the view itself, then built
    assert view.to_record() == read
    assert view.to_record().__pydantic_fields_set__ == read.__pydantic_fields_set__


def test_an_offset_with_seconds_is_written_as_pydantic_writes_it() -> None:
    """pydantic drops the seconds of a zone offset in JSON; a view asks it for such a time."""
    ts = datetime(2026, 1, 1, tzinfo=timezone(timedelta(seconds=61)))
    record = CostRecord(timestamp=ts)
    assert record.to_json_dict()["timestamp"] == "2026-01-01T00:00:00+00:01"
    _same(row_to_view(record_to_row(record)), record)


def test_fields_are_the_records() -> None:
    """The view's fields are ``CostRecord.model_fields`` in order, and the layouts derived
    from them (the stored call's plain fields, the money columns) are those derived from the
    pydantic model: a new record field is declared on the view too."""
    assert tuple(CostRecord.model_fields) == RECORD_FIELDS
    compound = {"record_id", "run_id", "parent_run_id", "root_run_id", "timestamp", "usage",
                "cost", "tags", "cache"}  # fmt: skip
    shared = tuple(f for f in StoredCall.__dataclass_fields__ if f in CostRecord.model_fields)
    assert tuple(f for f in shared if f not in compound) == PLAIN_FIELDS
    money = tuple(
        i
        for i, name in enumerate(PLAIN_FIELDS)
        if "Decimal" in str(CostRecord.model_fields[name].annotation)
    )
    assert money == _PLAIN_MONEY and money
    assert CacheView().to_json_dict() == CacheInfo().model_dump(mode="json")
    assert CacheView("miss", None, None) == MISS_VIEW
