"""Cost records and the stores that keep them.

:class:`LedgerStore` is the one extension point; :class:`MemoryLedger`, :class:`SQLiteLedger`
(the embedded default) and :class:`PostgresLedger` implement it and pass the same conformance
suite. :func:`open_ledger` turns a string (a path or URL) into a store; :func:`default_ledger`
is the process-wide one named by ``TOKENOMY_LEDGER``.

Each name is imported from its private module on first access, so a store (``sqlite3``, the
PostgreSQL module) is loaded only when it is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy.ledger._aggregate import (
        GROUP_DIMENSIONS,
        GroupTotals,
        aggregate_records,
        percentile,
    )
    from tokenomy.ledger._filter import RecordFilter
    from tokenomy.ledger._memory import MemoryLedger, MemoryLedgerFullWarning
    from tokenomy.ledger._open import ENV_VAR, default_ledger, open_ledger, set_default_ledger
    from tokenomy.ledger._postgres import PostgresLedger
    from tokenomy.ledger._record import CacheInfo, CostRecord, new_id
    from tokenomy.ledger._sqlite import SQLiteLedger
    from tokenomy.ledger._store import LedgerStore

_LAZY: dict[str, str] = {
    "ENV_VAR": "tokenomy.ledger._open",
    "GROUP_DIMENSIONS": "tokenomy.ledger._aggregate",
    "CacheInfo": "tokenomy.ledger._record",
    "CostRecord": "tokenomy.ledger._record",
    "GroupTotals": "tokenomy.ledger._aggregate",
    "LedgerStore": "tokenomy.ledger._store",
    "MemoryLedger": "tokenomy.ledger._memory",
    "MemoryLedgerFullWarning": "tokenomy.ledger._memory",
    "PostgresLedger": "tokenomy.ledger._postgres",
    "RecordFilter": "tokenomy.ledger._filter",
    "SQLiteLedger": "tokenomy.ledger._sqlite",
    "aggregate_records": "tokenomy.ledger._aggregate",
    "default_ledger": "tokenomy.ledger._open",
    "new_id": "tokenomy.ledger._record",
    "open_ledger": "tokenomy.ledger._open",
    "percentile": "tokenomy.ledger._aggregate",
    "set_default_ledger": "tokenomy.ledger._open",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenomy.ledger' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
