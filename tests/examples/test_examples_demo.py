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
    """``tokenomy demo`` (the installed command: no checkout file is used, its handbook ships
    in the package) exits 0, prints the report, and writes its SQLite ledger where it is run
    (``.tokenomy/demo.sqlite``), holding every call priced and tagged: both frameworks,
    streamed calls, provider cache reads, reasoning tokens and a LangChain cache hit with its
    savings, nothing unpriced."""
    ledger_path = tmp_path / ".tokenomy" / "demo.sqlite"
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run(
        [sys.executable, "-m", "tokenomy", "demo"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "tokenomy report" in out.stdout
    assert "Spend by feature, user" in out.stdout
    assert str(Path(".tokenomy") / "demo.sqlite") in out.stdout.replace("\n", "")
    assert ledger_path.exists()
    # the budgets part (tokenomy_langchain/_demo_budget.py): a refusal and a downgrade, printed
    assert "refused mallory's call" in out.stdout and "budget 'chat-per-user-daily'" in out.stdout
    assert "downgraded feature 'weekly-summary' from gpt-4o to gpt-4o-mini" in out.stdout
    assert "RAG budgeting: 8 queries sent" in out.stdout.replace("\n", " ")

    with SQLiteLedger(ledger_path) as ledger:
        records = ledger.query()
        assert {r.framework for r in records} == {"langchain", "llamaindex"}
        assert {r.tags["feature"] for r in records} == {
            "docs-qa", "handbook-assistant", "ticket-triage", "faq", "indexing", "support-search",
            "chat-memory", "ticket-routing",
            "support-chat", "weekly-summary", "ticket-digest", "handbook-claude",
            "help-desk-cache", "faq-cache",
        }
        # provider discounts (tokenomy_langchain/_demo_discounts.py): one batch job at batch
        # prices, shown in the report; the Claude assistant's placed breakpoints read back
        digest = [r for r in records if r.tags["feature"] == "ticket-digest"]
        assert len(digest) == 8 and {r.service_tier for r in digest} == {"batch"}
        assert "Batch API             8 calls in 1 job" in out.stdout and "(50%)" in out.stdout
        claude = [r for r in records if r.tags["feature"] == "handbook-claude"]
        assert claude[0].tags["cache_placed"] == "system:5m"
        assert all(r.usage.cache_read > 1000 for r in claude[1:])
        # tokenomy's response cache: an exact repeat and a streamed rewording (acme), another
        # tenant asked again (globex); LlamaIndex's repeated question
        desk = sorted((r for r in records if r.tags["feature"] == "help-desk-cache"), key=lambda r: r.timestamp)
        assert [r.cache.outcome for r in desk] == ["miss", "exact", "semantic", "miss"]
        faq = sorted((r for r in records if r.tags["feature"] == "faq-cache"), key=lambda r: r.timestamp)
        assert [r.cache.outcome for r in faq] == ["miss", "exact"]
        routed = [r for r in records if r.tags["feature"] == "ticket-routing"]
        assert {r.tags["route_model"] for r in routed} == {"gpt-4.1-nano", "gpt-4.1"}
        assert sum(r.tags["route_verdict"] == "fail" for r in routed) == 2
        assert "ticket-routing: 10 tickets, 12 model calls, escalation rate 20%" in out.stdout
        summaries = [r for r in records if r.tags.get("purpose") == "memory"]
        assert summaries and all(r.tags["feature"] == "chat-memory" and r.priced for r in summaries)
        assert "chat-memory: 14 turns" in out.stdout
        calls = len(summaries)
        assert f" {calls} summary call{'' if calls == 1 else 's'} cost $" in out.stdout
        assert all(r.tags.get("app") == "northwind-support" for r in records)
        assert all(r.priced for r in records), [r.model for r in records if not r.priced]
        assert sum(1 for r in records if r.streamed) >= 2
        assert sum(r.usage.cache_read for r in records) > 0
        assert sum(r.usage.reasoning for r in records) > 0
        weekly = [r for r in records if r.tags["feature"] == "weekly-summary"]
        assert weekly[0].model == "gpt-4o" and weekly[-1].model.startswith("gpt-4o-mini")
        assert weekly[-1].tags["budget_downgraded_from"] == "gpt-4o"
        chat = [r for r in records if r.tags["feature"] == "support-chat"]
        assert sum((r.cost.total for r in chat if r.cost), Decimal(0)) <= Decimal("0.0002")
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
            expected = book.price(
                r.model, r.usage, provider=r.provider, service_tier=r.service_tier
            )
            assert expected is not None
            assert r.cost is not None and r.cost.total == expected.total
        assert ledger.totals().cost == sum((r.cost.total for r in records if r.cost), Decimal(0))


def test_demo_handbook_ships_in_the_package_and_examples_demo_is_the_command() -> None:
    """The demo's documents are package data (no checkout needed) and ``examples/demo.py``
    (what ``./dev demo`` runs) is the same ``tokenomy demo`` command."""
    import tokenomy
    from tokenomy._demo import DOCS

    package = Path(tokenomy.__file__).resolve().parent
    assert len(DOCS) == 6 and all(d.is_relative_to(package) for d in DOCS)
    assert 'main(["demo", *sys.argv[1:]])' in (ROOT / "examples" / "demo.py").read_text()


def test_demo_never_replaces_a_file_it_did_not_write(tmp_path: Path) -> None:
    """``tokenomy demo --ledger FILE`` on a file that is not an earlier demo ledger exits 3 and
    leaves it as it was (before running anything)."""
    from tokenomy.cli import main

    precious = tmp_path / "precious.sqlite"
    precious.write_bytes(b"my data")
    assert main(["demo", "--ledger", str(precious)]) == 3
    assert precious.read_bytes() == b"my data"
