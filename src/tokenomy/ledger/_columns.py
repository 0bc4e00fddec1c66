"""The SQL columns added after schema version 1: one line each.

Both SQL stores derive from :data:`ADDED_COLUMNS` their migration steps (``ALTER TABLE ... ADD
COLUMN``, one numbered step per ``version``) and the row layout (``ledger/_rows.py`` appends
the names to its columns). A column named after a :data:`~tokenomy.ledger._stored.PLAIN_FIELDS`
field is written and read back with no other code; ``flag`` columns hold 0/1 in SQLite and a
boolean in PostgreSQL. ``derived`` columns are no record field: the writer computes them from
the record (``ledger/_rows.py``, :data:`~tokenomy.ledger._rows.DERIVED`) so that the stores can
aggregate in SQL (money as integer picodollars, the tag set's id, the latency bucket, the run's
key); a migration adding one fills it for the rows already stored. Never change a released
line: append one with the next ``version``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ADDED_COLUMNS", "AddedColumn", "derived_until", "migration_steps"]


@dataclass(frozen=True, slots=True)
class AddedColumn:
    """One column a migration adds: its SQL type in each database, and the version adding it."""

    version: int
    name: str
    sqlite: str
    postgres: str
    flag: bool = False
    derived: bool = False


def _money(name: str, version: int = 3) -> AddedColumn:
    # Integer picodollars (1e-12 USD): sums are exact integers (PostgreSQL's SUM(bigint) is a
    # NUMERIC, never overflowing); NULL when the amount is absent or needs more than 12 places.
    return AddedColumn(version, name, "INTEGER", "BIGINT", derived=True)


ADDED_COLUMNS: tuple[AddedColumn, ...] = (
    # v2: the Cost's tier and long-context threshold (dropped by v1 rows), and truncation
    AddedColumn(2, "price_tier", "TEXT", "TEXT"),
    AddedColumn(2, "context_above", "INTEGER", "BIGINT"),
    AddedColumn(
        2, "truncated", "INTEGER NOT NULL DEFAULT 0", "BOOLEAN NOT NULL DEFAULT FALSE", flag=True
    ),
    # v3: what the provider says it billed (OpenRouter's usage.cost), an exact decimal
    AddedColumn(3, "billed_usd", "TEXT", "NUMERIC"),
    # v3: what aggregating in SQL needs (see ledger/_sql_report.py): the money columns of
    # the COST_DIMENSIONS of then, between cost_p and saved_p (a later one is appended with
    # its version; ledger/_rows.py checks every dimension has its column)
    _money("cost_p"),
    _money("cost_input_p"),
    _money("cost_cache_read_p"),
    _money("cost_cache_write_5m_p"),
    _money("cost_cache_write_1h_p"),
    _money("cost_output_p"),
    _money("cost_reasoning_p"),
    _money("cost_audio_input_p"),
    _money("cost_audio_output_p"),
    _money("cost_request_p"),
    _money("cost_web_search_p"),
    _money("saved_p"),
    # 1 when an amount of the row is not exactly in the picodollar columns (more than 12
    # places, or a cost part of another dimension): aggregates over it are summed in Python
    AddedColumn(
        3, "money_inexact", "INTEGER NOT NULL DEFAULT 0", "INTEGER NOT NULL DEFAULT 0", derived=True
    ),
    AddedColumn(3, "lat_bucket", "INTEGER", "INTEGER", derived=True),
    AddedColumn(
        3, "tagset", "INTEGER NOT NULL DEFAULT 0", "BIGINT NOT NULL DEFAULT 0", derived=True
    ),
    AddedColumn(3, "run_key", "TEXT", "TEXT", derived=True),
    # v4: the provider's bill (billed_usd) as integer picodollars, so that what was charged
    # sums exactly in SQL (NULL without a bill; a bill needing more places sets money_inexact)
    AddedColumn(4, "billed_p", "INTEGER", "BIGINT", derived=True),
    # v4: the cost dimension of image generation (priced per image by quality and size)
    _money("cost_image_generation_p", 4),
    # v5 (issue 15, the cost review): what the request was, without its text
    # (tokenomy/_request_hash.py): the stable prefix's and the whole request's hashes, the
    # prefix's size, the message count, and the last user message only on opt-in
    AddedColumn(5, "prefix_hash", "TEXT", "TEXT"),
    AddedColumn(5, "request_hash", "TEXT", "TEXT"),
    AddedColumn(5, "prefix_tokens", "INTEGER", "BIGINT"),
    AddedColumn(5, "message_count", "INTEGER", "INTEGER"),
    AddedColumn(5, "prompt_text", "TEXT", "TEXT"),
)

#: The first version whose records carry the request hashes (the cost review reads them).
REQUEST_HASH_VERSION = 5


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


def derived_until(version: int) -> tuple[str, ...]:
    """The derived columns a table at schema ``version`` has (a migration's Python step fills
    only those of its own version and before)."""
    return tuple(c.name for c in ADDED_COLUMNS if c.derived and c.version <= version)
