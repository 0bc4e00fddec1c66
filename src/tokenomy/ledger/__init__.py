"""Cost records and the stores that keep them.

:class:`LedgerStore` is the one extension point; :class:`MemoryLedger`, :class:`SQLiteLedger`
(the embedded default) and :class:`PostgresLedger` implement it and pass the same conformance
suite. :func:`open_ledger` turns a string (a path or URL) into a store; :func:`default_ledger`
is the process-wide one named by ``TOKENOMY_LEDGER``.
"""

from tokenomy.ledger._aggregate import GROUP_DIMENSIONS, GroupTotals, aggregate_records, percentile
from tokenomy.ledger._filter import RecordFilter
from tokenomy.ledger._memory import MemoryLedger, MemoryLedgerFullWarning
from tokenomy.ledger._open import ENV_VAR, default_ledger, open_ledger, set_default_ledger
from tokenomy.ledger._postgres import PostgresLedger
from tokenomy.ledger._record import CacheInfo, CostRecord, new_id
from tokenomy.ledger._sqlite import SQLiteLedger
from tokenomy.ledger._store import LedgerStore

__all__ = [
    "ENV_VAR",
    "GROUP_DIMENSIONS",
    "CacheInfo",
    "CostRecord",
    "GroupTotals",
    "LedgerStore",
    "MemoryLedger",
    "MemoryLedgerFullWarning",
    "PostgresLedger",
    "RecordFilter",
    "SQLiteLedger",
    "aggregate_records",
    "default_ledger",
    "new_id",
    "open_ledger",
    "percentile",
    "set_default_ledger",
]
