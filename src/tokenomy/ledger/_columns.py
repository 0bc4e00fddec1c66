"""The SQL columns added after schema version 1: one line each.

Both SQL stores derive from :data:`ADDED_COLUMNS` their migration steps (``ALTER TABLE ... ADD
COLUMN``, one numbered step per ``version``) and the row layout (``ledger/_rows.py`` appends
the names to its columns). A column named after a :data:`~tokenomy.ledger._stored.PLAIN_FIELDS`
field is written and read back with no other code; ``flag`` columns hold 0/1 in SQLite and a
boolean in PostgreSQL. Never change a released line: append one with the next ``version``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ADDED_COLUMNS", "AddedColumn", "migration_steps"]


@dataclass(frozen=True, slots=True)
class AddedColumn:
    """One column a migration adds: its SQL type in each database, and the version adding it."""

    version: int
    name: str
    sqlite: str
    postgres: str
    flag: bool = False


ADDED_COLUMNS: tuple[AddedColumn, ...] = (
    # v2: the Cost's tier and long-context threshold (dropped by v1 rows), and truncation
    AddedColumn(2, "price_tier", "TEXT", "TEXT"),
    AddedColumn(2, "context_above", "INTEGER", "BIGINT"),
    AddedColumn(
        2, "truncated", "INTEGER NOT NULL DEFAULT 0", "BOOLEAN NOT NULL DEFAULT FALSE", flag=True
    ),
    # v3: what the provider says it billed (OpenRouter's usage.cost), an exact decimal
    AddedColumn(3, "billed_usd", "TEXT", "NUMERIC"),
)


def migration_steps(dialect: str, table: str) -> tuple[tuple[int, str], ...]:
    """``(version, SQL)`` steps adding :data:`ADDED_COLUMNS` to ``table`` (``dialect`` is
    ``"sqlite"`` or ``"postgres"``), in version order."""
    steps: dict[int, list[str]] = {}
    for column in ADDED_COLUMNS:
        kind = column.sqlite if dialect == "sqlite" else column.postgres
        steps.setdefault(column.version, []).append(
            f"ALTER TABLE {table} ADD COLUMN {column.name} {kind}"
        )
    return tuple((version, ";\n".join(sql)) for version, sql in sorted(steps.items()))
