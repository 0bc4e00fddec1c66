"""A bounded MemoryLedger (the process default) keeps memory flat and says so."""

from __future__ import annotations

import pytest

from tokenomy import ConfigurationError, CostRecord, Usage
from tokenomy.ledger import MemoryLedger, MemoryLedgerFullWarning, open_ledger
from tokenomy.ledger._open import PROCESS_MEMORY_RECORDS


def _rec(i: int) -> CostRecord:
    return CostRecord(model="gpt-4o", usage=Usage(input=i), tags={"i": str(i)})


def test_oldest_records_are_dropped_past_the_bound_with_one_warning() -> None:
    """Past max_records the oldest tenth goes, once warned; the newest are all kept and
    lookups by id (mark_usable) still work."""
    ledger = MemoryLedger(max_records=100)
    records = [_rec(i) for i in range(250)]
    with pytest.warns(MemoryLedgerFullWarning, match="TOKENOMY_LEDGER"):
        ledger.add_many(records)
    kept = ledger.query()
    assert len(kept) <= 100
    assert kept[-1] == records[-1]
    assert [r.usage.input for r in kept] == list(range(250 - len(kept), 250))
    assert ledger.dropped == 250 - len(kept)
    assert ledger.mark_usable(records[-1].record_id, True)
    assert ledger.query()[-1].usable is True
    assert not ledger.mark_usable(records[0].record_id, True)


def test_unbounded_by_default_and_bad_bounds_rejected() -> None:
    """A MemoryLedger you create keeps everything; max_records must be a positive int."""
    ledger = MemoryLedger()
    for i in range(300):
        ledger.add(_rec(i))
    assert len(ledger) == 300
    with pytest.raises(ConfigurationError):
        MemoryLedger(max_records=0)


def test_process_default_is_bounded() -> None:
    """The process-wide ledger used when TOKENOMY_LEDGER is unset is bounded."""
    shared = open_ledger(None)
    assert isinstance(shared, MemoryLedger)
    assert shared.max_records == PROCESS_MEMORY_RECORDS
