"""Stored calls: the StoredCall objects store_call() builds, and the CostRecords they read as."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tokenomy import (
    CostRecord,
    ModelPrice,
    PriceBook,
    StoredCall,
    Usage,
    record_call,
    store_call,
    track,
)
from tokenomy.ledger import MemoryLedger, SQLiteLedger


def _store(ledger: MemoryLedger | None, **kw: object) -> StoredCall:
    args: dict[str, object] = {
        "model": "gpt-4o",
        "usage": Usage(120, 30, 20, 0, 0, 10),
        "provider": "openai",
        "latency_ms": 12.5,
        "run_id": uuid.uuid4(),
        "base_tags": {"feature": "search"},
        "name": "ChatOpenAI",
        "framework": "langchain",
        "ledger": ledger,
    }
    args.update(kw)
    return store_call(**args)  # type: ignore[arg-type]


def test_stored_call_reads_as_the_validated_record() -> None:
    """A stored call materializes to exactly the record pydantic validation builds from the
    same values (money, usage, tags, ids as strings, an aware UTC timestamp)."""
    ledger = MemoryLedger()
    parent = uuid.uuid4()
    stored = _store(ledger, parent_run_id=parent, root_run_id=parent, service_tier="priority")
    rec = stored.to_record()
    assert CostRecord.model_validate(rec.model_dump()) == rec
    assert CostRecord.from_json_dict(rec.to_json_dict()) == rec
    assert rec.parent_run_id == rec.root_run_id == str(parent)
    assert rec.usage == Usage(input=120, output=30, cache_read=20, reasoning=10)
    assert rec.tags == {"feature": "search"}
    assert rec.timestamp.tzinfo is not None
    assert abs(rec.timestamp - datetime.now(UTC)) < timedelta(seconds=5)
    assert rec.cost is not None and rec.cost.parts["reasoning"] > 0
    assert stored.to_record() == rec  # deterministic: the same record every time
    assert ledger.query() == [rec]


def test_record_call_and_the_stored_path_give_equal_records() -> None:
    """record_call (the public API) and store_call (the handlers' path) record the same call
    identically, apart from the fresh record id and timestamp."""
    ledger = MemoryLedger()
    run = uuid.uuid4()
    via_api = record_call(
        model="gpt-4o", usage=Usage(input=120, output=30, cache_read=20, reasoning=10),
        provider="openai", latency_ms=12.5, run_id=str(run), tags={"feature": "search"},
        name="ChatOpenAI", framework="langchain", ledger=ledger,
    )
    via_stored = _store(ledger, run_id=run).to_record()
    skip = {"record_id", "timestamp"}
    assert via_api.model_dump(exclude=skip) == via_stored.model_dump(exclude=skip)


def test_priced_matches_cost_on_every_dimension() -> None:
    """ModelPrice.priced (the hot path) and ModelPrice.cost price the same usage identically:
    cache reads and writes, reasoning, a request fee, a service tier, a long-context tier."""
    book = PriceBook()
    price = ModelPrice.per_million(
        input="2", output="8", cache_read="0.5", cache_write_5m="2.5", cache_write_1h="4",
        reasoning="10", request="0.001",
    )
    plain = ModelPrice.per_million(input="2", output="8")
    usual = plain.priced(Usage(input=1000, output=200), "m")
    assert usual[1] is None and usual[5] == Decimal("0.002") and usual[6] == Decimal("0.0016")
    assert str(plain.cost(Usage(input=1000, output=200)).parts["output"]) == str(usual[6])
    cases = [
        Usage(input=1000, output=200),
        Usage(input=1000, output=200, cache_read=300, cache_write_5m=100, cache_write_1h=50),
        Usage(input=10, output=200, reasoning=150),
    ]
    for usage in cases:
        cost = price.cost(usage, model="m")
        total, parts, model, tier, above, p_in, p_out = price.priced(usage, "m")
        assert (total, model, tier, above) == (cost.total, cost.model, None, None)
        if parts is None:  # the usual input-and-output-only call
            assert {"input": p_in, "output": p_out} == dict(cost.parts)
        else:
            assert dict(zip(parts[::2], parts[1::2], strict=True)) == dict(cost.parts)
    gpt = book.lookup("gpt-5.5")
    if gpt is not None and gpt.context_tiers:
        big = Usage(input=gpt.context_tiers[0].above + 1, output=10)
        assert gpt.priced(big, "gpt-5.5")[4] == gpt.cost(big).context_above


def test_a_stored_call_reads_by_name() -> None:
    """A StoredCall exposes what budgets and wrappers read by name: id, cost, priced,
    model, attempt, truncated; and its cost is the record's."""
    stored = _store(MemoryLedger(), attempt=2, truncated=True)
    rec = stored.to_record()
    assert stored.record_id == rec.record_id
    assert stored.cost_total == rec.total_cost and stored.cost_total is not None
    assert (stored.priced, stored.model, stored.attempt, stored.truncated) == (
        True, "gpt-4o", 2, True,
    )
    assert stored.cost == rec.cost and rec.truncated is True


def test_record_ids_are_unique_and_uuid_shaped() -> None:
    """Ids of stored calls are distinct UUID-4-shaped strings."""
    ledger = MemoryLedger()
    ids = {_store(ledger).record_id for _ in range(500)}
    assert len(ids) == 500
    assert all(uuid.UUID(i).version == 4 for i in ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_never_reuses_the_parents_ids() -> None:
    """A child process forked after the parent made ids gives its calls another id prefix, so
    parent and child can share a ledger without their record ids colliding."""
    ledger = MemoryLedger()
    parent_id = _store(ledger).record_id
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.write(write, _store(MemoryLedger()).record_id.encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child_id = os.read(read, 100).decode()
    os.close(read)
    assert child_id and child_id[:24] != parent_id[:24]


def test_memory_ledger_keeps_every_call_recorded_from_many_threads() -> None:
    """Stored calls appended without a lock from 8 threads at once are all kept, once each,
    and read back oldest first."""
    ledger = MemoryLedger()

    def work() -> None:
        for _ in range(500):
            _store(ledger)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = ledger.query()
    assert len(records) == ledger.count() == 4000
    assert len({r.record_id for r in records}) == 4000
    assert [r.timestamp for r in records] == sorted(r.timestamp for r in records)


def test_memory_ledger_mixes_records_and_stored_calls() -> None:
    """Records added with add() and stored calls are ordered by time together; re-adding a
    stored call's record is a no-op; mark_usable and filters work on stored calls."""
    ledger = MemoryLedger()
    late = _store(ledger)
    early = record_call(
        model="gpt-4o", usage=Usage(input=1), ledger=MemoryLedger(),
        timestamp=datetime.now(UTC) - timedelta(hours=1),
    )
    ledger.add(early)
    assert [r.record_id for r in ledger.query()] == [early.record_id, late.record_id]
    ledger.add(late.to_record())
    assert ledger.count() == 2
    assert ledger.mark_usable(late.record_id, False)
    assert ledger.query(newest_first=True)[0].usable is False


def test_memory_ledger_bound_applies_to_stored_calls() -> None:
    """A bounded MemoryLedger drops its oldest stored calls past max_records."""
    ledger = MemoryLedger(max_records=100)
    with pytest.warns(Warning, match="dropped its oldest"):
        firsts = [_store(ledger).record_id for _ in range(101)]
    kept = [r.record_id for r in ledger.query()]
    assert len(kept) == 91 and kept == firsts[10:]


def test_trackers_total_stored_calls() -> None:
    """A track() block totals the stored calls made inside it without materializing them,
    and its records are those calls."""
    ledger = MemoryLedger()
    with track(feature="x", ledger=ledger) as block:
        first = _store(None)
        with pytest.warns(Warning, match="No price known"):
            _store(None, model="no-such-model-xyz")
    assert block.calls == 2 and block.unpriced == 1
    assert block.cost == first.to_record().cost.total  # type: ignore[union-attr]
    assert block.usage == Usage(input=240, output=60, cache_read=40, reasoning=20)
    assert [r.tags["feature"] for r in block.records] == ["x", "x"]
    assert block.cost > Decimal(0)


def test_sqlite_stores_a_stored_call_as_its_record(tmp_path: Path) -> None:
    """A stored call written by the SQLite writer thread reads back equal to its record."""
    with SQLiteLedger(tmp_path / "s.sqlite") as ledger:
        stored = store_call(
            model="gpt-4o", usage=Usage(10, 5), provider="openai", latency_ms=3.0,
            run_id=uuid.uuid4(), base_tags={"user": "u1"}, name="ChatOpenAI",
            framework="langchain", ledger=ledger, trackers=(), truncated=True,
        )
        assert ledger.query() == [stored.to_record()]


def test_sql_row_of_a_stored_call_is_the_row_of_its_record() -> None:
    """The row of a stored call is the row of its record read back as a stored call
    (StoredCall.from_record undoes to_record): usual calls, multi-part costs, unpriced calls, cache hits, calls
    with an explicit timestamp, string and UUID run ids."""
    from tokenomy.ledger import CacheInfo
    from tokenomy.ledger._rows import record_to_row, stored_to_row

    ledger = MemoryLedger()
    with pytest.warns(Warning, match="No price known"):  # model None: unpriced, warned
        unpriced = _store(ledger, usage=None, model=None)
    cases = [
        unpriced,
        _store(ledger),
        _store(ledger, usage=Usage(10, 5), base_tags={}),
        _store(ledger, run_id="span-1", parent_run_id="span-0", root_run_id="span-0"),
        _store(ledger, cache=CacheInfo(outcome="semantic", similarity=0.93)),
        _store(ledger, cache="exact"),
        _store(ledger, timestamp=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)),
        _store(ledger, service_tier="priority", latency_ms=None, streamed=True, ttft_ms=3.5),
        _store(ledger, truncated=True, attempt=3, error="APIError"),
    ]
    for stored in cases:
        assert stored_to_row(stored) == record_to_row(stored.to_record())
