"""Print benchmark rows as a table (rich when available, plain text otherwise)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def print_table(title: str, rows: Sequence[dict[str, Any]]) -> None:
    """One table: a column per key of the first row."""
    if not rows:
        print(f"{title}: no rows")
        return
    cols = list(rows[0])
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover
        print(title)
        print(" | ".join(cols))
        for r in rows:
            print(" | ".join(str(r.get(c, "")) for c in cols))
        return
    table = Table(title=title)
    for c in cols:
        table.add_column(c, justify="left" if c in ("benchmark", "case", "anchor", "goal") else "right")
    for r in rows:
        table.add_row(*(str(r.get(c, "")) for c in cols))
    Console(width=160).print(table)
