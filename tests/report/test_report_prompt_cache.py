"""Provider prompt caching is its own figure: tokens, hit rate, saving vs the uncached price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import tokenomy
from tokenomy import CacheInfo, CostRecord, MemoryLedger, Usage
from tokenomy.pricing import get_price_book
from tokenomy.report import Report

T0 = datetime(2026, 2, 1, tzinfo=UTC)
MODEL = "claude-sonnet-4-5"


def _ledger() -> MemoryLedger:
    ledger = MemoryLedger()
    reads = (3108, 3108, 3108)  # three calls reading 9,324 cached tokens
    for i, read in enumerate(reads):
        tokenomy.record_call(
            model=MODEL, provider="anthropic", usage=Usage(input=3200, output=40, cache_read=read),
            tags={"feature": "support"}, timestamp=T0 + timedelta(seconds=i), ledger=ledger,
        )  # fmt: skip
    # a cache write that is never read: costs more than the uncached price
    tokenomy.record_call(
        model=MODEL, provider="anthropic", usage=Usage(input=2000, output=10, cache_write_5m=1800),
        tags={"feature": "triage"}, timestamp=T0 + timedelta(seconds=5), ledger=ledger,
    )  # fmt: skip
    # a response-cache hit repeating a cached read: the response cache's figure, not this one
    ledger.add(
        CostRecord(
            model=MODEL, provider="anthropic", usage=Usage(input=3200, output=40, cache_read=3108),
            cost=None, cache=CacheInfo(outcome="exact", saved=Decimal("0.01")),
            tags={"feature": "support"}, timestamp=T0 + timedelta(seconds=9),
        )
    )  # fmt: skip
    return ledger


def test_prompt_cache_saving_hit_rate_and_negative_writes() -> None:
    """Reads save (input - cache read rate) per token, a write never read costs (write rate -
    input) per token (negative), the hit rate is cache reads over input, per feature and model,
    response-cache hits left out; the report's old 'Cache 0 hits, saved $0.00' is now the
    response cache alone."""
    price = get_price_book().lookup(MODEL, "anthropic")
    assert price is not None and price.cache_read is not None and price.cache_write_5m is not None
    report = Report(_ledger().query())
    groups = {g.key["feature"]: g for g in report.prompt_cache()}
    support, triage = groups["support"], groups["triage"]
    assert support.key == {"feature": "support", "model": MODEL}
    assert (support.calls, support.cache_read, support.input) == (3, 9324, 9600)
    assert support.saved == 9324 * (price.input - price.cache_read)
    assert support.saved > Decimal("0.02")
    assert support.hit_rate == 9324 / 9600
    assert triage.saved == -1800 * (price.cache_write_5m - price.input) < 0
    assert triage.cache_write == 1800 and triage.hit_rate == 0
    doc = report.to_dict(by="feature")
    assert doc["prompt_cache"]["by"] == ["feature", "model"]
    assert Decimal(doc["prompt_cache"]["totals"]["saved"]) == support.saved + triage.saved
    assert doc["totals"]["cache_hits"] == 1


def test_prompt_cache_is_shown_in_the_table() -> None:
    """The rendered report has a 'Prompt cache' line with the saving and a per-feature/model
    table beside the response cache's line."""
    from rich.console import Console

    console = Console(width=120, record=True)
    report = Report(_ledger().query())
    report.render(console, by="feature")
    text = console.export_text()
    assert "Response cache" in text and "1 hit" in text
    assert "Prompt cache" in text and "read 9,324" in text
    assert "Provider prompt caching by feature, model" in text


def test_no_prompt_caching_means_no_figure() -> None:
    """Calls that never touched the provider's cache give no prompt-cache groups."""
    ledger = MemoryLedger()
    tokenomy.record_call(model="gpt-4o", usage=Usage(input=10, output=1), ledger=ledger)
    assert Report(ledger.query()).prompt_cache() == []
