"""PostgresLedger against the real server: migrations, foreign tables, two writer processes."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from ledger_helpers import PG_URL, require_postgres, subprocess_env

from tokenomy.exceptions import LedgerError, LedgerFileError
from tokenomy.ledger import CostRecord, PostgresLedger, RecordFilter, open_ledger
from tokenomy.ledger._postgres_schema import PG_SCHEMA_VERSION, redact
from tokenomy.pricing import Cost

if TYPE_CHECKING:
    import psycopg


def _pg() -> psycopg.Connection[Any]:
    """An autocommit connection to the test server, for looking behind the store's back."""
    import psycopg

    return psycopg.connect(require_postgres(), autocommit=True)


def test_tables_and_meta_are_created(pg_schema: str) -> None:
    """A new store creates the schema, the records table and a meta table with our version."""
    with PostgresLedger(PG_URL, schema=pg_schema, table="calls"):
        pass
    with _pg() as conn:
        meta = dict(conn.execute(f'SELECT key, value FROM "{pg_schema}".calls_meta').fetchall())
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = 'calls'",
                [pg_schema],
            ).fetchall()
        )
        indexes = {
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s", [pg_schema]
            )
        }
    assert meta == {"application": "tokenomy", "schema_version": str(PG_SCHEMA_VERSION)}
    assert types["cost_total"] == "numeric"
    assert types["tags"] == "jsonb"
    assert types["priced"] == "boolean"
    assert {"calls_ts", "calls_model", "calls_root_run", "calls_tags"} <= indexes


def test_money_is_stored_as_exact_numeric(pg_schema: str) -> None:
    """The NUMERIC column holds the exact Decimal (SQL sum included)."""
    with PostgresLedger(PG_URL, schema=pg_schema) as store:
        for total in ("0.0000025", "0.1", "1E-9"):
            store.add(CostRecord(model="m", cost=Cost(Decimal(total), {}), priced=True))
        store.flush()
        assert store.totals().cost == Decimal("0.100002501")
    with _pg() as conn:
        (total,) = conn.execute(
            f'SELECT SUM(cost_total) FROM "{pg_schema}".tokenomy_records'
        ).fetchone()
    assert total == Decimal("0.100002501")


def test_reopen_sees_records_and_keeps_version(pg_schema: str) -> None:
    """A second store on the same table reads what the first wrote; no migration reruns."""
    rec = CostRecord(model="m", tags={"team": "search"})
    with PostgresLedger(PG_URL, schema=pg_schema) as store:
        store.add(rec)
    with PostgresLedger(PG_URL, schema=pg_schema) as store:
        assert store.query(RecordFilter(tags={"team": "search"})) == [rec]


def test_foreign_table_is_refused_untouched(pg_schema: str) -> None:
    """A table of that name without our meta table is not ours: LedgerFileError, rows kept."""
    with _pg() as conn:
        conn.execute(f'CREATE SCHEMA "{pg_schema}"')
        conn.execute(f'CREATE TABLE "{pg_schema}".tokenomy_records (id int)')
        conn.execute(f'INSERT INTO "{pg_schema}".tokenomy_records VALUES (1)')
    with pytest.raises(LedgerFileError, match="not a tokenomy ledger"):
        PostgresLedger(PG_URL, schema=pg_schema)
    with _pg() as conn:
        rows = conn.execute(f'SELECT * FROM "{pg_schema}".tokenomy_records').fetchall()
        meta = conn.execute("SELECT to_regclass(%s)", [f"{pg_schema}.tokenomy_records_meta"])
        assert meta.fetchone() == (None,)
    assert rows == [(1,)]


def test_newer_schema_version_is_refused(pg_schema: str) -> None:
    """A meta version above ours says 'upgrade tokenomy' and changes nothing."""
    PostgresLedger(PG_URL, schema=pg_schema).close()
    newer = str(PG_SCHEMA_VERSION + 1)
    with _pg() as conn:
        conn.execute(
            f"UPDATE \"{pg_schema}\".tokenomy_records_meta SET value = %s WHERE key = 'schema_version'",
            [newer],
        )
    with pytest.raises(LedgerFileError, match="upgrade"):
        PostgresLedger(PG_URL, schema=pg_schema)
    with _pg() as conn:
        (value,) = conn.execute(
            f"SELECT value FROM \"{pg_schema}\".tokenomy_records_meta WHERE key = 'schema_version'"
        ).fetchone()
    assert value == newer


def test_unreachable_server_is_a_ledger_error() -> None:
    """A server that does not answer gives LedgerError naming the (redacted) URL."""
    url = "postgresql://someone:s3cret@127.0.0.1:1/nodb"
    with pytest.raises(LedgerError) as info:
        PostgresLedger(url, connect_timeout=1)
    assert "s3cret" not in str(info.value)
    assert "127.0.0.1:1" in str(info.value)


def test_redact_hides_passwords() -> None:
    """Passwords in URL userinfo or a password= item never reach messages."""
    assert redact("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert redact("postgresql://h/db?password=pw&x=1") == "postgresql://h/db?password=***&x=1"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


def test_open_ledger_url_with_schema_and_table(pg_schema: str) -> None:
    """open_ledger('postgresql://...?schema=S&table=T') writes into S.T (items not sent to libpq)."""
    store = open_ledger(f"{PG_URL}?schema={pg_schema}&table=llm_calls&connect_timeout=5")
    try:
        assert isinstance(store, PostgresLedger)
        assert (store.schema, store.table) == (pg_schema, "llm_calls")
        store.add(CostRecord(model="m"))
        assert len(store) == 1
    finally:
        store.close()


def test_sync_mode_commits_inside_add(pg_schema: str) -> None:
    """sync=True: another connection sees the record as soon as add() returns."""
    with PostgresLedger(PG_URL, schema=pg_schema, sync=True) as store:
        store.add(CostRecord(record_id="now", model="m"))
        with _pg() as conn:
            rows = conn.execute(f'SELECT record_id FROM "{pg_schema}".tokenomy_records').fetchall()
        assert rows == [("now",)]


_WRITER = """
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from tokenomy.ledger import CostRecord, PostgresLedger
from tokenomy.pricing import Cost

if TYPE_CHECKING:
    import psycopg

url, schema, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = PostgresLedger(url, schema=schema, batch_size=50, flush_interval=0.01)
for i in range(n):
    store.add(CostRecord(
        record_id=f"{prefix}-{i}", model=f"m{i % 3}", tags={"writer": prefix},
        cost=Cost(total=Decimal("0.0000137"), parts={"input": Decimal("0.0000137")}), priced=True,
    ))
store.close()
"""


def test_two_processes_writing_concurrently(pg_schema: str) -> None:
    """Two processes creating and filling one table at once: every record lands, totals exact."""
    n = 700
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, PG_URL, pg_schema, name, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(),
        )
        for name in ("a", "b")
    ]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    with PostgresLedger(PG_URL, schema=pg_schema) as store:
        assert len(store) == 2 * n
        assert store.totals().cost == Decimal("0.0000137") * 2 * n
        per_writer = store.aggregate(["writer"])
        assert [(g.key["writer"], g.count) for g in per_writer] == [("a", n), ("b", n)]
        assert all(g.cost == Decimal("0.0000137") * n for g in per_writer)


def test_billed_amount_is_stored_as_exact_numeric(pg_schema: str) -> None:
    """``billed_usd`` (schema v3) is a NUMERIC column: read back as the exact Decimal, summed
    exactly in SQL; a call with no bill reads back ``None``."""
    with PostgresLedger(PG_URL, schema=pg_schema) as store:
        for billed in ("0.020612", "1E-9", None):
            store.add(
                CostRecord(
                    model="m",
                    cost=Cost(Decimal("0.01"), {}),
                    priced=True,
                    billed_usd=None if billed is None else Decimal(billed),
                )
            )
        store.flush()
        back = sorted(
            (r.billed_usd for r in store.query() if r.billed_usd is not None), key=Decimal
        )
        assert back == [Decimal("1E-9"), Decimal("0.020612")]
        assert sum(r.billed_usd is None for r in store.query()) == 1
    with _pg() as conn:
        (total,) = conn.execute(
            f'SELECT SUM(billed_usd) FROM "{pg_schema}".tokenomy_records'
        ).fetchone()
    assert total == Decimal("0.020612001")
