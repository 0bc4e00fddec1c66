"""Each recommendation kind of ``tokenomy review``: triggered by a ledger built to show it, not
by one built not to, and its projected saving equal to the saving computed here by hand from
the same calls. Every case runs on a memory ledger (facts read record by record) and a SQLite
ledger (facts from SQL GROUP BYs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import tokenomy
from tokenomy import LedgerStore, MemoryLedger, RequestHashes, SQLiteLedger, Usage
from tokenomy.pricing import PriceBook
from tokenomy.review import Recommendation, build_review

BASE = datetime(2026, 9, 1, tzinfo=UTC)
UNTIL = BASE + timedelta(days=30)
BOOK = PriceBook.default()


def price(model: str, usage: Usage) -> Decimal:
    cost = BOOK.price(model, usage)
    assert cost is not None
    return cost.total


@pytest.fixture(params=["memory", "sqlite"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> LedgerStore:
    if request.param == "memory":
        return MemoryLedger()
    return SQLiteLedger(tmp_path / "l.db", sync=True)


def add(
    ledger: LedgerStore,
    i: int,
    *,
    model: str = "gpt-4o",
    inp: int = 1000,
    out: int = 100,
    feature: str = "faq",
    hashes: RequestHashes | None = None,
    run: str | None = None,
    streamed: bool = False,
    cache_read: int = 0,
    hour: int | None = None,
) -> str:
    ts = BASE + timedelta(hours=hour if hour is not None else i % 600, seconds=i)
    stored = tokenomy.store_call(
        model=model,
        usage=Usage(input=inp, output=out, cache_read=cache_read),
        ledger=ledger,
        tags={"feature": feature},
        timestamp=ts,
        run_id=run,
        root_run_id=run,
        streamed=streamed,
        request=hashes,
    )
    return stored.record_id


def review(ledger: LedgerStore) -> list[Recommendation]:
    ledger.flush()
    return build_review(ledger, since=BASE, until=UNTIL).recommendations


def only(recs: list[Recommendation], kind: str) -> Recommendation:
    found = [r for r in recs if r.kind == kind]
    assert len(found) == 1, [r.title for r in recs]
    return found[0]


def kinds(recs: list[Recommendation]) -> set[str]:
    return {r.kind for r in recs}


def check_saving(rec: Recommendation, hand: Decimal) -> None:
    assert rec.period_saving == hand
    assert rec.monthly_saving == hand.quantize(Decimal("0.000001"))  # a 30-day period


# -- cheaper model -------------------------------------------------------------------------


def _labelled(ledger: LedgerStore, cheap_usable: int) -> None:
    for i in range(30):
        rid = add(ledger, i, model="gpt-4o", inp=2000, out=300)
        ledger.mark_usable(rid, i < 27)
    for i in range(30, 60):
        rid = add(ledger, i, model="gpt-4o-mini", inp=2000, out=300)
        ledger.mark_usable(rid, i - 30 < cheap_usable)


def test_cheaper_model(ledger: LedgerStore) -> None:
    """gpt-4o and gpt-4o-mini both 90% usable on feature faq: moving gpt-4o's calls saves
    their cost less the same tokens at gpt-4o-mini's rates."""
    _labelled(ledger, cheap_usable=27)
    rec = only(review(ledger), "cheaper_model")
    mini = BOOK.lookup("gpt-4o-mini")
    assert mini is not None
    dear = 30 * price("gpt-4o", Usage(input=2000, output=300))
    hand = dear - (mini.input * 30 * 2000 + mini.output * 30 * 300)
    check_saving(rec, hand)
    assert rec.evidence["cheaper_model"] == "gpt-4o-mini"


def test_cheaper_model_not_when_quality_drops(ledger: LedgerStore) -> None:
    """gpt-4o-mini only 50% usable against 90%: no cheaper-model recommendation."""
    _labelled(ledger, cheap_usable=15)
    assert "cheaper_model" not in kinds(review(ledger))


# -- provider prompt cache -----------------------------------------------------------------


def _prefixed(ledger: LedgerStore, tokens: int, cache_read: int) -> None:
    for i in range(20):
        add(
            ledger, i, inp=tokens + 50, out=50, hour=i // 5, cache_read=cache_read,
            hashes=RequestHashes("p" * 32, f"{i:032d}", tokens, 2, None),
        )


def test_prompt_cache(ledger: LedgerStore) -> None:
    """A 2,000-token prefix sent 20 times in 4 hours without cache reads: (20 - 4) x 2000 x
    (input - cache read rate) - 4 x 2000 x (write - input rate)."""
    _prefixed(ledger, 2000, 0)
    rec = only(review(ledger), "prompt_cache")
    p = BOOK.lookup("gpt-4o")
    assert p is not None and p.cache_read is not None
    write = p.cache_write_5m if p.cache_write_5m is not None else p.input
    hand = 16 * 2000 * (p.input - p.cache_read) - 4 * 2000 * max(Decimal(0), write - p.input)
    check_saving(rec, hand)
    assert rec.evidence["hours_seen"] == 4


def test_prompt_cache_not_when_already_cached(ledger: LedgerStore) -> None:
    """The same prefix read from the provider's cache on every call: nothing to recommend;
    nor for a prefix under the 1,024-token minimum."""
    _prefixed(ledger, 2000, 2000)
    assert "prompt_cache" not in kinds(review(ledger))
    other = MemoryLedger()
    _prefixed(other, 800, 0)
    assert "prompt_cache" not in kinds(review(other))


# -- max_tokens ----------------------------------------------------------------------------


def test_max_tokens(ledger: LedgerStore) -> None:
    """95 answers of 100 tokens and 5 of 2,000: cap 112 (the 95th percentile's 16-token
    bucket, rounded up); saving = 5 x (2000 - 112) output tokens x the output rate."""
    for i in range(100):
        add(ledger, i, feature="summary", out=2000 if i % 20 == 0 else 100)
    rec = only(review(ledger), "max_tokens")
    p = BOOK.lookup("gpt-4o")
    assert p is not None
    check_saving(rec, 5 * (2000 - 112) * p.output)
    assert rec.evidence["p95_output_cap"] == 112


def test_max_tokens_not_for_even_outputs(ledger: LedgerStore) -> None:
    """Every answer about the same length: no max_tokens recommendation."""
    for i in range(100):
        add(ledger, i, feature="summary", out=100 + i % 5)
    assert "max_tokens" not in kinds(review(ledger))


# -- response cache (exact repeats) --------------------------------------------------------


def test_response_cache(ledger: LedgerStore) -> None:
    """The same request 10 times: a cache would have served 9 of them: 9/10 of their cost."""
    for i in range(10):
        add(ledger, i, hashes=RequestHashes(None, "r" * 32, None, 1, None))
    rec = only(review(ledger), "response_cache")
    check_saving(rec, 10 * price("gpt-4o", Usage(input=1000, output=100)) * 9 / 10)


def test_response_cache_not_for_distinct_requests(ledger: LedgerStore) -> None:
    """Ten different requests: no response-cache recommendation."""
    for i in range(10):
        add(ledger, i, hashes=RequestHashes(None, f"{i:032d}", None, 1, None))
    assert "response_cache" not in kinds(review(ledger))


# -- semantic cache (near-duplicates, text opted in) ---------------------------------------

_Q = "how do i reset my password for the billing portal when the emailed link has expired and support is closed"


def test_semantic_cache(ledger: LedgerStore) -> None:
    """Five questions differing in their last word (3-word-shingle Jaccard 0.89): one
    cluster; a semantic cache would serve 4 of 5: 4/5 of their cost."""
    for i, last in enumerate(["today", "tonight", "now", "again", "yesterday"]):
        add(ledger, i, hashes=RequestHashes(None, f"{i:032d}", None, 1, f"{_Q} {last}"))
    rec = only(review(ledger), "semantic_cache")
    check_saving(rec, 5 * price("gpt-4o", Usage(input=1000, output=100)) * 4 / 5)


def test_semantic_cache_not_for_unrelated_prompts(ledger: LedgerStore) -> None:
    """Five unrelated questions: no semantic-cache recommendation."""
    for i, q in enumerate(["what is the refund policy for annual plans", "how to export invoices as csv",
                           "which regions host my data", "can I change my username", "why was my card declined"]):
        add(ledger, i, hashes=RequestHashes(None, f"{i:032d}", None, 1, q))
    assert "semantic_cache" not in kinds(review(ledger))


# -- batch ---------------------------------------------------------------------------------


def _bulk(ledger: LedgerStore, streamed: bool) -> None:
    for i in range(50):
        add(ledger, i, feature="nightly-tagging", run=f"bulk-{i // 25}", streamed=streamed, hour=i // 25)


def test_batch(ledger: LedgerStore) -> None:
    """Two runs of 25 unstreamed calls: half their cost at a batch API's price."""
    _bulk(ledger, streamed=False)
    rec = only(review(ledger), "batch")
    check_saving(rec, 50 * price("gpt-4o", Usage(input=1000, output=100)) / 2)


def test_batch_not_for_streamed_work(ledger: LedgerStore) -> None:
    """The same runs streamed (someone is waiting): no batch recommendation."""
    _bulk(ledger, streamed=True)
    assert "batch" not in kinds(review(ledger))


# -- memory window -------------------------------------------------------------------------


def _chats(ledger: LedgerStore, messages: int) -> None:
    for i in range(10):
        add(ledger, i, inp=9000, hashes=RequestHashes("s" * 32, f"{i:032d}", 1000, messages, None))


def test_memory_window(ledger: LedgerStore) -> None:
    """Ten 12-message calls of 9,000 input tokens (1,000 of them the stable prefix): 4,000
    tokens each above a 4,000-token window, at the input rate."""
    _chats(ledger, 12)
    rec = only(review(ledger), "memory_window")
    p = BOOK.lookup("gpt-4o")
    assert p is not None
    check_saving(rec, 10 * 4000 * p.input)


def test_memory_window_not_for_short_histories(ledger: LedgerStore) -> None:
    """Three-message calls: no memory-window recommendation, however long."""
    _chats(ledger, 3)
    assert "memory_window" not in kinds(review(ledger))


def test_every_recommendation_has_numbers() -> None:
    """A recommendation always carries evidence and a positive saving."""
    ledger = MemoryLedger()
    for i in range(10):
        add(ledger, i, hashes=RequestHashes(None, "r" * 32, None, 1, None))
    for rec in review(ledger):
        assert rec.evidence and rec.period_saving > 0 and rec.monthly_saving > 0



