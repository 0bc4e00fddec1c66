"""The memory ledger adds up its stored calls as they are: no record is built per call."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tokenomy import store_call
from tokenomy.ledger import MemoryLedger, aggregate_records
from tokenomy.ledger._stored import StoredCall
from tokenomy.usage import Usage


def test_memory_ledger_aggregates_stored_calls_without_building_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Totals and groups of stored calls (with a provider's bill among them) equal the pure
    aggregation of their records, computed while building a record from a stored call is
    made to fail: the memory ledger reads each stored call as it is."""
    ledger = MemoryLedger()
    for i in range(30):
        store_call(
            model=("gpt-4o", "gpt-4o-mini")[i % 2], provider="openai",
            usage=Usage(input=100 + i, output=10 + i), tags={"feature": f"f{i % 3}"},
            billed_usd=Decimal("0.002") if i % 7 == 0 else None, ledger=ledger,
        )  # fmt: skip
    records = ledger.query()
    want = {by: aggregate_records(records, by) for by in ((), ("feature",), ("model",))}

    def refuse(self: StoredCall) -> None:
        raise AssertionError("a record was built from a stored call")

    monkeypatch.setattr(StoredCall, "to_record", refuse)
    for by, expected in want.items():
        assert ledger.aggregate(by) == expected
    assert ledger.aggregate(())[0].billed == 5
