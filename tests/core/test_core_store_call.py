"""store_call(): the one record path (ledger and price-book choice, pricing failures, the
running totals of track() blocks) and PriceBook.check()."""

from __future__ import annotations

import sqlite3
import threading
import warnings
from decimal import Decimal
from pathlib import Path

import pytest

import tokenomy
from tokenomy import (
    CacheInfo,
    MemoryLedger,
    ModelPrice,
    PriceBook,
    SQLiteLedger,
    StoredCall,
    UnknownModelPriceError,
    UnknownModelPriceWarning,
    UnpricedCallError,
    Usage,
    current_trackers,
    record_call,
    store_call,
    track,
)


def _book(rate: int) -> PriceBook:
    return PriceBook.default().with_overrides(
        {"house-model": ModelPrice(input=Decimal(rate), output=Decimal(0))}
    )


def test_new_names_are_public() -> None:
    """store_call, StoredCall, current_trackers and UnpricedCallError are in the namespace."""
    for name in ("StoredCall", "UnpricedCallError", "current_trackers", "store_call"):
        assert name in tokenomy.__all__ and getattr(tokenomy, name) is not None


def test_the_callers_ledger_and_book_win_over_the_blocks_which_win_over_defaults() -> None:
    """An explicit ledger/price_book wins over the innermost block's, which wins over the
    process default; the call counts in every enclosing block either way."""
    own, block_ledger = MemoryLedger(), MemoryLedger()
    with track(ledger=block_ledger, price_book=_book(2)) as outer, track() as inner:
        assert current_trackers() == (outer, inner)
        a = store_call(model="house-model", usage=Usage(input=10))
        b = store_call(model="house-model", usage=Usage(input=10), ledger=own, price_book=_book(5))
    assert (a.cost_total, b.cost_total) == (Decimal(20), Decimal(50))
    assert [r.record_id for r in block_ledger.query()] == [a.record_id]
    assert [r.record_id for r in own.query()] == [b.record_id]
    assert outer.calls == inner.calls == 2 and outer.cost == Decimal(70)


def test_strict_pricing_records_unpriced_then_raises_with_the_stored_call() -> None:
    """A strict book and an unknown model: the call is stored unpriced with tag
    unpriced_reason, then UnpricedCallError carries the stored call and the cause."""
    ledger = MemoryLedger()
    with track() as block, pytest.raises(UnpricedCallError) as info:
        store_call(model="nope-9", usage=Usage(input=3), ledger=ledger, price_book=PriceBook(strict=True))
    stored = info.value.stored
    assert isinstance(stored, StoredCall) and isinstance(info.value.cause, UnknownModelPriceError)
    (record,) = ledger.query()
    assert record.record_id == stored.record_id and not record.priced
    assert record.tags["unpriced_reason"] == "UnknownModelPriceError"
    assert block.unpriced == 1 and block.calls == 1
    with pytest.raises(UnpricedCallError):  # record_call too: the record is kept
        record_call(model="nope-9", usage=None, ledger=ledger, price_book=PriceBook(strict=True))
    assert len(ledger) == 2


def test_a_strict_cache_hit_of_an_unknown_model_still_spends_nothing() -> None:
    """A cache hit whose saving cannot be priced in strict mode is recorded as a $0 hit."""
    ledger = MemoryLedger()
    with pytest.raises(UnpricedCallError):
        store_call(
            model="nope-8", usage=Usage(input=3), cache=CacheInfo(outcome="exact"),
            ledger=ledger, price_book=PriceBook(strict=True),
        )  # fmt: skip
    (record,) = ledger.query()
    assert record.is_cache_hit and record.total_cost == Decimal(0) and record.usage == Usage()


def test_price_book_check() -> None:
    """check() raises UnknownModelPriceError for an unknown model in strict mode only."""
    PriceBook(strict=True).check("gpt-4o")
    PriceBook().check("nope-7")
    with pytest.raises(UnknownModelPriceError):
        PriceBook(strict=True).check("nope-7", "openai")


def test_tracker_totals_are_kept_exactly_under_8_threads() -> None:
    """Totals kept as calls arrive from 8 threads equal the sums over the block's records."""
    book = _book(1)
    ledger = MemoryLedger()
    with track(ledger=ledger, price_book=book) as block:
        chain = current_trackers()

        def work(i: int) -> None:
            for j in range(300):
                if j % 10 == 0:
                    store_call(model="no-price-x", usage=Usage(input=1), trackers=chain)
                elif j % 10 == 1:
                    store_call(
                        model="house-model", usage=Usage(input=7), trackers=chain,
                        cache=CacheInfo(outcome="exact"),
                    )  # fmt: skip
                else:
                    store_call(
                        model="house-model", usage=Usage(input=i + 1, output=2, reasoning=1),
                        trackers=chain,
                    )  # fmt: skip

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownModelPriceWarning)
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    records = block.records
    assert block.calls == len(records) == 2400
    assert block.cost == sum((r.total_cost for r in records if r.total_cost is not None), Decimal(0))
    assert block.unpriced == sum(1 for r in records if not r.priced) == 240
    assert block.saved == sum((r.cache.saved or Decimal(0) for r in records), Decimal(0)) == 7 * 240
    assert block.usage.input == sum(r.usage.input for r in records)
    assert block.usage.reasoning == sum(r.usage.reasoning for r in records) == 8 * 240


def test_a_version_1_sqlite_ledger_keeps_every_record_when_migrated(tmp_path: Path) -> None:
    """A ledger written at schema version 1 is migrated to the current version in place: its
    records read back unchanged (truncated false), and new records keep the new fields."""
    from tokenomy.ledger._sqlite_schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, TABLE

    path = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0][1] + ";")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        f"INSERT INTO {TABLE} (record_id, ts_us, timestamp, model, kind, input_tokens, "
        "output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, "
        "reasoning_tokens, usage_estimated, cost_total, cost_parts, price_model, priced, "
        "estimated, streamed, tags, cache_outcome, attempt) VALUES ('old-1', 0, "
        "'1970-01-01T00:00:00+00:00', 'gpt-4o', 'chat', 5, 1, 0, 0, 0, 0, 0, '0.5', "
        "'{\"input\":\"0.5\"}', 'gpt-4o', 1, 0, 0, '{\"a\":\"b\"}', 'miss', 1)"
    )
    conn.commit()
    conn.close()
    assert SCHEMA_VERSION >= 2
    with SQLiteLedger(path, sync=True) as ledger:
        (old,) = ledger.query()
        assert (old.record_id, old.total_cost, old.tags, old.truncated) == (
            "old-1", Decimal("0.5"), {"a": "b"}, False,
        )
        new = store_call(
            model="gpt-4o", usage=Usage(input=10, output=2), service_tier="priority",
            truncated=True, ledger=ledger,
        )  # fmt: skip
        back = {r.record_id: r for r in ledger.query()}[new.record_id]
        assert back.truncated and back.service_tier == "priority"
        assert back.cost is not None and back.cost.service_tier == new.price_tier
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"cache": "exact", "error": "Timeout", "ttft_ms": 3, "attempt": 2, "truncated": True},
        {"model": "no-such-model-anywhere"},
    ],
)
def test_store_call_sets_every_field_of_the_stored_call(extra: dict[str, object]) -> None:
    """store_call builds the StoredCall field by field (not through its keyword __init__):
    every dataclass field is set, and the call reads as the same record as one built
    through StoredCall's own constructor from it."""
    import dataclasses

    kwargs: dict[str, object] = {
        "model": "gpt-4o-mini",
        "usage": Usage(input=61, output=8),
        "ledger": MemoryLedger(),
    }
    kwargs.update(extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownModelPriceWarning)
        call = store_call(**kwargs)  # type: ignore[arg-type]
    values = {f.name: getattr(call, f.name) for f in dataclasses.fields(StoredCall)}
    assert StoredCall(**values).to_record() == call.to_record()


def test_the_cost_is_computed_when_first_read_and_is_the_books() -> None:
    """A priced call keeps its price-book entry and computes its cost on the first read
    (not inside the model call), and the cost read equals ModelPrice.cost of the usage.
    Inside a track() block the call only joins the block; the block's running total reads
    (and so computes) its cost when the total is read."""
    usage = Usage(input=1234, output=56)
    book = _book(3)
    call = store_call(model="house-model", usage=usage, price_book=book, ledger=MemoryLedger())
    assert call.costing is None and call.price is not None and call.priced
    expected = book.lookup("house-model").cost(usage)  # type: ignore[union-attr]
    assert call.cost_total == expected.total == Decimal(3 * 1234)
    assert call.costing is not None
    assert call.to_record().cost == expected
    with track(price_book=book) as block:
        inside = store_call(model="house-model", usage=usage, ledger=MemoryLedger())
        assert inside.costing is None  # nothing read it yet
        assert block.cost == Decimal(3 * 1234)
        assert inside.costing is not None
