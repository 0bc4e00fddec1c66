"""The README's demo runs offline and writes a complete, priced ledger."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from tokenomy import RecordFilter, SQLiteLedger

ROOT = Path(__file__).resolve().parents[2]


def test_demo_writes_priced_tagged_ledger_and_prints_report(tmp_path: Path) -> None:
    """The demo exits 0, prints the report, and its SQLite ledger holds every call priced and
    tagged: both frameworks, streamed calls, provider cache reads, reasoning tokens and a
    LangChain cache hit with its savings, nothing unpriced."""
    ledger_path = tmp_path / "demo.sqlite"
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py"), "--ledger", str(ledger_path)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "tokenomy report" in out.stdout
    assert "Spend by feature, user" in out.stdout
    assert str(ledger_path) in out.stdout.replace("\n", "")
    assert "RAG budgeting: 8 queries sent" in out.stdout.replace("\n", " ")

    with SQLiteLedger(ledger_path) as ledger:
        records = ledger.query()
        assert {r.framework for r in records} == {"langchain", "llamaindex"}
        assert {r.tags["feature"] for r in records} == {
            "docs-qa", "handbook-assistant", "ticket-triage", "faq", "indexing", "support-search",
        }
        assert all(r.tags.get("app") == "northwind-support" for r in records)
        assert all(r.priced for r in records), [r.model for r in records if not r.priced]
        assert sum(1 for r in records if r.streamed) >= 2
        assert sum(r.usage.cache_read for r in records) > 0
        assert sum(r.usage.reasoning for r in records) > 0
        # the RAG chain's and the query engine's model calls (not the query embeddings made
        # before retrieval) carry their context budgeting report
        budgeted = [
            r
            for r in records
            if r.tags["feature"] in ("docs-qa", "support-search") and r.kind != "embedding"
        ]
        assert budgeted and all(
            int(r.tags["rag_tokens_sent"]) < int(r.tags["rag_tokens_retrieved"]) for r in budgeted
        )
        hits = ledger.query(RecordFilter(cache_hit=True))
        assert len(hits) >= 1
        assert all(h.cost is not None and h.cost.total == 0 for h in hits)
        assert all(h.cache.saved is not None and h.cache.saved > 0 for h in hits)
        # every chat record's cost is its usage priced by the book, exactly
        from tokenomy.pricing import PriceBook

        book = PriceBook()
        for r in records:
            if r.is_cache_hit:
                continue
            expected = book.price(r.model, r.usage, provider=r.provider)
            assert expected is not None
            assert r.cost is not None and r.cost.total == expected.total
        assert ledger.totals().cost == sum((r.cost.total for r in records if r.cost), Decimal(0))
