"""track() and record_call(): tags, nesting, threads, asyncio tasks, cache hits, unknown models."""

from __future__ import annotations

import asyncio
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from tokenomy import (
    CacheInfo,
    MemoryLedger,
    UnknownModelPriceWarning,
    Usage,
    current_tags,
    current_tracker,
    record_call,
    run_in_context,
    set_default_ledger,
    track,
)
from tokenomy.pricing import PriceBook


@pytest.fixture
def ledger() -> MemoryLedger:
    store = MemoryLedger()
    old = set_default_ledger(store)
    yield store
    set_default_ledger(old)


def test_record_is_priced_tagged_and_stored(ledger: MemoryLedger) -> None:
    """A call inside track() is priced by the book, carries the block's tags and is stored."""
    usage = Usage(input=1_000, output=200, cache_read=400)
    with track(feature="search", user="u1") as run:
        rec = record_call(model="gpt-4o-mini", provider="openai", usage=usage, latency_ms=12.5)
    expected = PriceBook().price("gpt-4o-mini", usage)
    assert expected is not None
    assert rec.cost == expected and rec.priced
    assert rec.tags == {"feature": "search", "user": "u1"}
    assert ledger.query() == [rec]
    assert run.records == [rec] and run.cost == expected.total
    assert run.usage == usage


def test_nested_blocks_merge_tags_and_count_in_both(ledger: MemoryLedger) -> None:
    """Inner tags override outer ones; records count in every enclosing block; run ids nest."""
    with track(feature="chat", user="u1") as outer:
        with track(user="u2", step="rerank") as inner:
            rec = record_call(model="gpt-4o", usage=Usage(input=10, output=5))
            assert current_tags() == {"feature": "chat", "user": "u2", "step": "rerank"}
        assert current_tracker() is outer
        rec2 = record_call(model="gpt-4o", usage=Usage(input=10, output=5))
    assert rec.tags == {"feature": "chat", "user": "u2", "step": "rerank"}
    assert rec.parent_run_id == inner.run_id and rec.root_run_id == outer.run_id
    assert rec2.parent_run_id == outer.run_id
    assert inner.records == [rec]
    assert outer.records == [rec, rec2]
    assert outer.cost == rec.cost.total + rec2.cost.total  # type: ignore[union-attr]
    assert current_tracker() is None


def test_explicit_tags_and_run_ids_win(ledger: MemoryLedger) -> None:
    """Tags and run ids passed to record_call override the block's."""
    with track(feature="a"):
        rec = record_call(
            model="gpt-4o", usage=Usage(input=1), tags={"feature": "b", "n": 3},
            run_id="r1", parent_run_id="p1", root_run_id="root1",
        )
    assert rec.tags == {"feature": "b", "n": "3"}
    assert (rec.run_id, rec.parent_run_id, rec.root_run_id) == ("r1", "p1", "root1")


def test_blocks_are_isolated_between_threads(ledger: MemoryLedger) -> None:
    """Two threads each in their own track() block never see each other's tags or records."""
    barrier = threading.Barrier(2)
    results: dict[str, list[str]] = {}

    def worker(user: str) -> None:
        with track(user=user) as run:
            barrier.wait()
            for _ in range(50):
                record_call(model="gpt-4o-mini", usage=Usage(input=1, output=1))
            results[user] = sorted({r.tags["user"] for r in run.records})

    threads = [threading.Thread(target=worker, args=(u,)) for u in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"a": ["a"], "b": ["b"]}
    assert len(ledger.query()) == 100


def test_context_reaches_asyncio_tasks_and_copied_thread_pools(ledger: MemoryLedger) -> None:
    """Tasks created inside a block, and pool work wrapped with run_in_context, are tagged."""

    async def one() -> None:
        record_call(model="gpt-4o-mini", usage=Usage(input=1))

    async def main() -> None:
        with track(feature="async") as run:
            await asyncio.gather(*(asyncio.create_task(one()) for _ in range(5)))
            assert run.calls == 5

    asyncio.run(main())
    with track(feature="pool") as run, ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(run_in_context(record_call), model="gpt-4o", usage=Usage(input=1)) for _ in range(4)]:
            f.result()
    assert run.calls == 4
    assert sorted(r.tags["feature"] for r in ledger.query()) == ["async"] * 5 + ["pool"] * 4


def test_unknown_model_is_recorded_unpriced_never_zero(ledger: MemoryLedger) -> None:
    """An unknown or missing model name is stored with cost None and counted as unpriced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownModelPriceWarning)
        with track() as run:
            a = record_call(model="acme-secret-model", usage=Usage(input=5, output=5))
            b = record_call(model=None, usage=Usage(input=5, output=5))
    assert a.cost is None and not a.priced
    assert b.model == "unknown" and b.cost is None
    assert run.unpriced == 2 and run.cost == Decimal(0)
    assert len(ledger.query()) == 2


def test_cache_hit_spends_nothing_and_records_savings(ledger: MemoryLedger) -> None:
    """A cache hit costs $0, uses no tokens, and saves what the call would have cost."""
    would = Usage(input=2_000, output=300)
    with track() as run:
        rec = record_call(model="gpt-4o", usage=would, cache="exact")
        sem = record_call(model="gpt-4o", usage=would, cache=CacheInfo(outcome="semantic", similarity=0.93))
    price = PriceBook().price("gpt-4o", would)
    assert price is not None
    assert rec.cost is not None and rec.cost.total == 0 and rec.priced
    assert rec.usage.total == 0
    assert rec.cache.outcome == "exact" and rec.cache.saved == price.total
    assert sem.cache.similarity == 0.93 and sem.cache.saved == price.total
    assert run.saved == 2 * price.total and run.cost == 0


def test_missing_usage_is_flagged_estimated(ledger: MemoryLedger) -> None:
    """A call recorded without usage is kept, with zero tokens flagged estimated."""
    rec = record_call(model="gpt-4o", usage=None)
    assert rec.estimated and rec.usage.estimated


def test_block_ledger_and_price_book_apply_to_its_records(ledger: MemoryLedger) -> None:
    """track(ledger=..., price_book=...) sends records there and prices them with that book."""
    from tokenomy.pricing import ModelPrice

    other = MemoryLedger()
    book = PriceBook().with_overrides({"gpt-4o": ModelPrice.per_million(input="1", output="1")})
    with track(ledger=other, price_book=book):
        with track(feature="x"):
            rec = record_call(model="gpt-4o", usage=Usage(input=1_000_000))
    assert rec.cost is not None and rec.cost.total == Decimal(1)
    assert other.query() == [rec]
    assert ledger.query() == []


def test_named_block_labels_the_runs_it_roots(ledger: MemoryLedger) -> None:
    """track(name=...) labels the calls it roots (tag run_name); explicit run ids keep theirs."""
    with track(name="checkout", user="u1"), track(name="inner"):
        rooted = record_call(model="gpt-4o", usage=Usage(input=1))
        framework = record_call(model="gpt-4o", usage=Usage(input=1), run_id="lc-run", root_run_id="lc-root")
        labelled = record_call(model="gpt-4o", usage=Usage(input=1), tags={"run_name": "mine"})
    assert rooted.tags["run_name"] == "checkout"
    assert "run_name" not in framework.tags
    assert labelled.tags["run_name"] == "mine"


def test_trusted_record_equals_validated_record(ledger: MemoryLedger) -> None:
    """record_call's unvalidated fast construction gives exactly the record validation would:
    same fields, same JSON, and it round-trips through the validating constructor."""
    import uuid

    from tokenomy import CostRecord

    rec = record_call(
        model="gpt-4o", provider="openai", usage=Usage(input=10, output=3, cache_read=2),
        latency_ms=5, ttft_ms=1, streamed=True, run_id=uuid.uuid4(), parent_run_id=uuid.uuid4(),
        tags={"feature": "x"}, attempt=2, error="RateLimitError", service_tier="priority",
        name="ChatOpenAI", framework="langchain",
    )
    validated = CostRecord.model_validate(rec.model_dump())
    assert validated == rec
    assert CostRecord.from_json_dict(rec.to_json_dict()) == rec
    assert rec.model_fields_set <= set(CostRecord.model_fields)
    assert isinstance(rec.run_id, str) and isinstance(rec.latency_ms, float)
    uuid.UUID(rec.record_id)  # a well-formed UUID string
    assert uuid.UUID(rec.record_id).version == 4
    bare = record_call(model="gpt-4o", usage=Usage(input=1))
    assert bare.tags == {} and bare.cache.outcome == "miss" and bare.usable is None
    assert CostRecord.model_validate(bare.model_dump()) == bare


def test_flush_writes_the_default_ledger_for_other_readers(tmp_path: object) -> None:
    """tokenomy.flush() commits what the default SQLite ledger buffered, so a second
    connection (another process, say) sees it."""
    import sqlite3
    from pathlib import Path

    import tokenomy
    from tokenomy import SQLiteLedger

    path = Path(str(tmp_path)) / "flush.sqlite"
    store = SQLiteLedger(path, flush_interval=60)
    old = set_default_ledger(store)
    try:
        record_call(model="gpt-4o", usage=Usage(input=1))
        tokenomy.flush()
        with sqlite3.connect(path) as other:
            (count,) = other.execute("SELECT count(*) FROM cost_records").fetchone()
        assert count == 1
    finally:
        set_default_ledger(old)
        store.close()


def test_a_block_keeps_every_call_recorded_from_many_threads(ledger: MemoryLedger) -> None:
    """Calls recorded into one track() block from 8 threads at once (appended without a
    lock) are all counted, once each, in the block and in the ledger, and totalled."""
    from tokenomy import run_in_context

    with track(feature="threads") as block:

        def work() -> None:
            for _ in range(250):
                record_call(model="gpt-4o", usage=Usage(input=10, output=2))

        threads = [threading.Thread(target=run_in_context(work)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert block.calls == 2000 and len(block.records) == 2000
    assert len({r.record_id for r in block.records}) == 2000
    assert block.usage == Usage(input=20_000, output=4_000)
    assert ledger.count() == 2000
