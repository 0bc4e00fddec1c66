"""The PostgreSQL ledger tables: numbered migrations tracked in a ``<table>_meta`` table.

``<table>_meta`` holds ``application = tokenomy`` and ``schema_version = N``. Opening a store
takes a transaction-scoped advisory lock (so concurrent openers migrate once), refuses a
``<table>`` that exists without our meta table or a version newer than this code, then applies
the missing :data:`PG_MIGRATIONS` steps in order, all in one transaction (PostgreSQL DDL is
transactional: a failed step leaves nothing behind).
"""

from __future__ import annotations

import re
import zlib
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import LedgerFileError
from tokenomy.ledger._columns import migration_steps

if TYPE_CHECKING:
    import psycopg

__all__ = ["PG_MIGRATIONS", "PG_SCHEMA_VERSION", "migrate_postgres", "redact"]

# Placeholders: {records}, {meta} (qualified tables), {ix_ts}, {ix_model}, {ix_run}, {ix_tags}.
_V1 = """
CREATE TABLE {meta} (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE {records} (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    record_id TEXT PRIMARY KEY,
    ts_us BIGINT NOT NULL,
    "timestamp" TEXT NOT NULL,
    run_id TEXT,
    parent_run_id TEXT,
    root_run_id TEXT,
    provider TEXT,
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL,
    cache_write_5m_tokens BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    usage_estimated BOOLEAN NOT NULL,
    cost_total NUMERIC,
    cost_parts JSONB,
    price_model TEXT,
    priced BOOLEAN NOT NULL,
    estimated BOOLEAN NOT NULL,
    latency_ms DOUBLE PRECISION,
    ttft_ms DOUBLE PRECISION,
    streamed BOOLEAN NOT NULL,
    tags JSONB NOT NULL DEFAULT '{{}}',
    cache_outcome TEXT NOT NULL,
    cache_saved NUMERIC,
    cache_similarity DOUBLE PRECISION,
    attempt INTEGER NOT NULL,
    error TEXT,
    usable BOOLEAN,
    service_tier TEXT,
    name TEXT,
    framework TEXT
);
CREATE INDEX {ix_ts} ON {records} (ts_us);
CREATE INDEX {ix_model} ON {records} (model, ts_us);
CREATE INDEX {ix_run} ON {records} (root_run_id);
CREATE INDEX {ix_tags} ON {records} USING GIN (tags jsonb_path_ops)
"""

#: Ordered ``(version, SQL)`` steps; never edit a released step, append a new one.
#: Steps after the first come from ``ledger/_columns.py``.
PG_MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1), *migration_steps("postgres", "{records}"))
PG_SCHEMA_VERSION = PG_MIGRATIONS[-1][0]
_APPLICATION = "tokenomy"


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages)."""
    url = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)
    return re.sub(r"(password=)[^&\s]*", r"\1***", url)


def migrate_postgres(
    conn: psycopg.Connection[Any], schema: str | None, table: str, where: str
) -> int:
    """Create or upgrade the ledger tables; returns the version found (0 when new)."""
    from psycopg import sql

    meta_name = f"{table}_meta"

    def qualified(name: str) -> sql.Identifier:
        return sql.Identifier(schema, name) if schema else sql.Identifier(name)

    lock_key = zlib.crc32(f"tokenomy:{schema or ''}.{table}".encode())
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key])
        if schema:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = COALESCE(%s, current_schema()) AND c.relname IN (%s, %s)",
            [schema, table, meta_name],
        ).fetchall()
        present = {r[0] for r in rows}
        version = 0
        if meta_name in present:
            meta = dict(
                conn.execute(sql.SQL("SELECT key, value FROM {}").format(qualified(meta_name)))
            )
            if meta.get("application") != _APPLICATION:
                raise LedgerFileError(
                    where, f"table {meta_name} exists but does not belong to tokenomy ({meta})"
                )
            version = int(meta.get("schema_version", "0"))
            if version > PG_SCHEMA_VERSION:
                raise LedgerFileError(
                    where,
                    f"its schema version is {version} but this tokenomy knows versions up to "
                    f"{PG_SCHEMA_VERSION}; it was written by a newer tokenomy, so upgrade "
                    f"tokenomy to use it",
                )
        elif table in present:
            raise LedgerFileError(
                where,
                f"table {table} already exists without a {meta_name} table: it is not a "
                f"tokenomy ledger (choose another table= or schema=)",
            )
        names = {
            "records": qualified(table),
            "meta": qualified(meta_name),
            "ix_ts": sql.Identifier(f"{table}_ts"),
            "ix_model": sql.Identifier(f"{table}_model"),
            "ix_run": sql.Identifier(f"{table}_root_run"),
            "ix_tags": sql.Identifier(f"{table}_tags"),
        }
        for step, template in PG_MIGRATIONS:
            if step > version:
                for statement in template.split(";"):
                    if statement.strip():
                        conn.execute(sql.SQL(statement.strip()).format(**names))
        if version < PG_SCHEMA_VERSION:
            upsert = sql.SQL(
                "INSERT INTO {} (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ).format(qualified(meta_name))
            conn.execute(upsert, ["application", _APPLICATION])
            conn.execute(upsert, ["schema_version", str(PG_SCHEMA_VERSION)])
    return version
