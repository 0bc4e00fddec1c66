"""The report side of a provider's bill: what was charged, and the calls whose bill differs.

A call the provider billed (OpenRouter's ``usage.cost``) counts at its bill in every total
(``cost`` in JSON and CSV, the terminal's Cost line, groups, runs, call lines), the price
book's figure stays beside it (``price_book_cost``), and calls whose two amounts differ by more
than 3% are counted (``billed_mismatch``) and flagged: the same, exactly, from the memory,
SQLite and PostgreSQL ledgers. The bill is the one parsed from ``openrouter-billed.json``.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from services import drop_schema, require_postgres
from tokenomy import store_call
from tokenomy.ledger import CostRecord, LedgerStore, MemoryLedger, PostgresLedger, SQLiteLedger
from tokenomy.usage import parse_response

FIXTURE = Path(__file__).parents[1] / "fixtures" / "usage" / "openrouter-billed.json"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _records() -> list[CostRecord]:
    """Three calls: the recorded OpenRouter bill (a web-search fee the tokens do not show, so
    it differs from the price book), a bill equal to the book, and a call with no bill."""
    parsed = parse_response(json.loads(FIXTURE.read_text()))
    bill = parsed.usage.extra.billed_usd if parsed.usage.extra else None
    assert bill == Decimal("0.020612")
    billed = store_call(
        model="gpt-4o-mini", provider="openai", usage=parsed.usage, tags={"feature": "search"},
        ledger=MemoryLedger(),
    ).to_record()  # fmt: skip
    assert billed.billed_usd == bill and billed.billed_mismatch
    plain = store_call(
        model="gpt-4o-mini", provider="openai", usage=parsed.usage.__class__(input=1000, output=10),
        tags={"feature": "chat"}, ledger=MemoryLedger(),
    ).to_record()  # fmt: skip
    assert plain.total_cost is not None
    same = plain.model_copy(update={"record_id": "same", "billed_usd": plain.total_cost})
    return [
        billed.model_copy(update={"record_id": "billed", "timestamp": T0}),
        plain.model_copy(update={"record_id": "plain", "timestamp": T0 + timedelta(seconds=1)}),
        same.model_copy(update={"timestamp": T0 + timedelta(seconds=2)}),
    ]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerStore]:
    """The three records in a ledger of each kind."""
    schema = None
    if request.param == "memory":
        s: LedgerStore = MemoryLedger()
    elif request.param == "sqlite":
        s = SQLiteLedger(tmp_path / "bills.db", sync=True)
    else:
        schema = f"tkn_bill_{uuid.uuid4().hex[:10]}"
        s = PostgresLedger(require_postgres(), schema=schema, sync=True)
    s.add_many(_records())
    yield s
    s.close()
    if schema is not None:
        drop_schema(schema)


def test_report_counts_the_bill_and_flags_the_mismatch(store: LedgerStore) -> None:
    """JSON: ``cost`` is the exact sum of what was charged (the bill in place of the book for
    billed calls), ``price_book_cost`` the book's, one call of two billed differs; the groups
    and the call lines say the same."""
    from tokenomy.report import Report

    records = _records()
    charged = sum((r.charged_usd or Decimal(0) for r in records), Decimal(0))
    book = sum((r.total_cost or Decimal(0) for r in records), Decimal(0))
    assert charged != book
    report = Report.from_ledger(store)
    doc = json.loads(report.to_json(by="feature"))
    t = doc["totals"]
    assert Decimal(t["cost"]) == charged
    assert Decimal(t["price_book_cost"]) == book
    assert (t["billed"], t["billed_mismatch"], t["cost_complete"]) == (2, 1, True)
    assert Decimal(t["billed_usd"]) == Decimal("0.020612") + records[2].billed_usd
    groups = {g["key"]["feature"]: g for g in doc["groups"]}
    assert Decimal(groups["search"]["cost"]) == Decimal("0.020612")
    assert groups["search"]["billed_mismatch"] == 1
    assert sum(Decimal(g["cost"]) for g in doc["groups"]) == charged
    top = doc["most_expensive"][0]
    assert (top["record_id"], top["charged_usd"], top["billed_mismatch"]) == (
        "billed", "0.020612", True,
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(report.to_csv("groups", by="feature"))))
    search = next(r for r in rows if r["key_feature"] == "search")
    assert (search["cost"], search["billed"], search["billed_mismatch"]) == ("0.020612", "1", "1")
    calls = list(csv.DictReader(io.StringIO(report.to_csv("records"))))
    flagged = {r["record_id"]: r["billed_mismatch"] for r in calls}
    assert flagged == {"billed": "true", "plain": "false", "same": "false"}


def test_terminal_report_shows_what_the_provider_billed(store: LedgerStore) -> None:
    """The terminal's Cost line is what was charged, and a Provider bills line counts the
    billed calls and those differing by more than 3%."""
    from rich.console import Console

    from tokenomy.report import Report, format_usd

    records = _records()
    charged = sum((r.charged_usd or Decimal(0) for r in records), Decimal(0))
    console = Console(record=True, width=160)
    Report.from_ledger(store).render(console, by="feature")
    text = console.export_text()
    cost_line = next(line for line in text.splitlines() if line.startswith("Cost "))
    assert format_usd(charged) in cost_line
    assert "2 calls billed" in text
    assert "1 call differs by more than 3%" in text
    assert "(billed; book" in text


def test_most_expensive_ranks_by_what_was_charged(store: LedgerStore) -> None:
    """The most expensive calls are ranked by what was charged: a call whose book cost is the
    smallest but whose bill is the largest comes first, and the order and amounts equal the
    records' ``charged_usd`` sorted, in every ledger kind."""
    records = _records()
    cheap_book = min(records, key=lambda r: r.total_cost or Decimal(0))
    big_bill = max(r.charged_usd or Decimal(0) for r in records) * 3
    odd = cheap_book.model_copy(
        update={
            "record_id": "overbilled",
            "billed_usd": big_bill,
            "timestamp": T0 + timedelta(seconds=3),
        }
    )
    store.add(odd)
    store.flush()
    top = store.most_expensive(3)
    assert top[0].record_id == "overbilled"
    assert odd.total_cost is not None and odd.total_cost < big_bill
    want = sorted([*records, odd], key=lambda r: -(r.charged_usd or Decimal(0)))[:3]
    assert [(r.record_id, r.charged_usd) for r in top] == [
        (r.record_id, r.charged_usd) for r in want
    ]
