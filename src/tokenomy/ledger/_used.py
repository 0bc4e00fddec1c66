"""Which of the sparse summed columns a SQL ledger has ever filled (schema v6).

Most calls fill few of the columns the report sums: of the cost dimensions, usually input and
output; the response-cache savings and the cache and reasoning token counts only when those
features are in use. Summing an empty column still costs a step per row (SQLite: about a third
of a million-call report went to columns never filled). So the writer records, in the same
transaction as the records, the name of each :data:`SPARSE` column a record fills (money: not
NULL; tokens: not 0) in a side table of one row per column name (``<table>_used``; v6's
migration fills it from the rows already stored, in one pass), and the report sums only those,
reading a constant for the others (NULL for money, 0 for tokens: exactly what their sums are).
The set only grows: a column listed but emptied since (records deleted) is summed as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tokenomy.ledger._rows import MONEY_COLUMNS, ROW_COLUMNS

__all__ = ["SPARSE", "TOKEN_SPARSE", "UsedColumns", "count_sql", "names_counted", "used_in"]

#: The sparse token columns (``NOT NULL``; filled means not 0).
TOKEN_SPARSE: tuple[str, ...] = (
    "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "reasoning_tokens",
)  # fmt: skip
#: Every column the report may skip summing when no record fills it.
SPARSE: tuple[str, ...] = (*MONEY_COLUMNS.values(), "saved_p", *TOKEN_SPARSE)

_AT = [(name, ROW_COLUMNS.index(name), name in TOKEN_SPARSE) for name in SPARSE]


def used_in(
    rows: Iterable[Sequence[Any]], skip: frozenset[str] | set[str] = frozenset()
) -> set[str]:
    """The :data:`SPARSE` columns that ``rows`` (in ``ROW_COLUMNS`` order) fill (those in
    ``skip`` are not looked at)."""
    found: set[str] = set()
    at = [entry for entry in _AT if entry[0] not in skip]
    for row in rows:
        for name, i, token in at:
            value = row[i]
            if value is not None and (not token or value != 0):
                found.add(name)
    return found


def count_sql(table: str) -> str:
    """One pass over ``table`` counting, per :data:`SPARSE` column, the rows filling it (for
    the migration and bulk loads; :func:`names_counted` reads the result)."""
    counts = ", ".join(
        f"COUNT(NULLIF({name}, 0))" if name in TOKEN_SPARSE else f"COUNT({name})" for name in SPARSE
    )
    return f"SELECT {counts} FROM {table}"


def names_counted(counts: Sequence[Any]) -> list[str]:
    """The names of the columns :func:`count_sql` counted in some row."""
    return [name for name, n in zip(SPARSE, counts, strict=True) if int(n) > 0]


class UsedColumns:
    """The sparse columns known to be recorded in the store's ``used`` table (one per store):
    the writer inserts only the names it has not seen committed."""

    def __init__(self) -> None:
        self.known: set[str] = set()

    def new(self, rows: Iterable[Sequence[Any]]) -> list[str]:
        """The names ``rows`` fill that are not known yet (insert them with the rows)."""
        if len(self.known) == len(SPARSE):
            return []
        return sorted(used_in(rows, self.known))

    def learn(self, names: Iterable[str]) -> None:
        """Remember names whose transaction committed."""
        self.known.update(names)
