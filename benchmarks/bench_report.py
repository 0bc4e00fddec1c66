"""``tokenomy report`` on a month of traffic: 1,000,000 calls in SQLite and in PostgreSQL.

Goal (issue 8): ``tokenomy report --by feature --format json`` within 3x the floor and under
300 MB of peak memory. The floor is one SQL aggregate (``GROUP BY feature`` with the sums) over
the same rows in a plain table with ``feature`` as a column, run in-process in the same run.
The command runs in a subprocess as a user would start it (Python start-up included); its
peak memory is the child's maximum resident set size (``os.wait4``). Each pair (floor,
command) is measured ``rounds`` times, alternating, and the best round of each is kept (this
machine's CPU changes speed every few seconds; other processes can only slow a round down).

Rows are generated in the database (a recursive CTE in SQLite, ``generate_series`` in
PostgreSQL) with the layout the ledger writes (picodollar money, tag sets, latency buckets, the
runs, the sparse columns and the monthly rollup filled: schema v7), never one call at a time. Beside them: writing through ``tokenomy.record_call`` into
a SQLite ledger, per call (the path a tracked call takes, flush included).

``python benchmarks/bench_report.py`` runs the default (1M SQLite, 1M PostgreSQL; a few
minutes on 2 cores); ``--pg-10m`` adds 10,000,000 calls in PostgreSQL (``--pg-10m-only``: that
row alone; about 15 more minutes and ~8 GB of disk), measured and printed; ``--n N`` changes
the size (the test runs it small). A third row per database gives the aggregation query
alone, in-process, to separate it from the command's fixed costs (interpreter start, imports,
connecting).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

GOAL_RATIO = 3.0
GOAL_MB = 300.0
FEATURES = ("search", "chat", "summarise", "classify", "extract")
MODELS = ("gpt-4o", "claude-sonnet-4", "gemini-2.5-flash")
WRITE_MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1")  # priced: the usual path
TAGSETS = 200  # feature x tenant combinations: feature j % 5, tenant j // 5
MONTH_US = 30 * 86_400 * 1_000_000
BASE_US = 1_764_547_200_000_000  # 2025-12-01T00:00:00Z
# the PostgreSQL schema of each run's ledger: this prefix and a random suffix (dropped after)
SCHEMA_PREFIX = os.environ.get("TOKENOMY_BENCH_SCHEMA", "tkn_bench")
PG_URL = os.environ.get("TOKENOMY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _tags(j: int) -> str:
    return f'{{"feature":"{FEATURES[j % 5]}","tenant":"t{j // 5}"}}'


# -- one row per call, as SQL expressions of the call number i --------------------------------

def _exprs(n: int, *, pg: bool) -> dict[str, str]:
    """Column -> SQL expression of ``i`` (0..n-1) in the layout the ledger writes."""
    step = max(1, MONTH_US // max(n, 1))
    txt = "::text" if pg else ""
    cat = "||"
    inp = "(800 + (i * 37) % 1500)"
    out = "(100 + (i * 11) % 400)"
    cin, cout = f"({inp} * 2500000)", f"({out} * 10000000)"
    total = f"({cin} + {cout})"
    priced = "(i % 97 <> 0)"
    j = f"(i % {TAGSETS})"
    lat = "(150.0 + (i * 7919) % 3000)"
    models = ", ".join(f"'{m}'" for m in MODELS)
    model = (
        f"(ARRAY[{models}])[(i % 3) + 1]"
        if pg
        else f"CASE i % 3 WHEN 0 THEN '{MODELS[0]}' WHEN 1 THEN '{MODELS[1]}' ELSE '{MODELS[2]}' END"
    )

    def money(p: str) -> str:
        if pg:
            return f"to_char({p} / 1000000000000, 'FM0') || '.' || lpad(({p} % 1000000000000)::text, 12, '0')"
        return f"printf('%d.%012d', {p} / 1000000000000, {p} % 1000000000000)"

    feature_case = " ".join(f"WHEN {k} THEN '{f}'" for k, f in enumerate(FEATURES))
    tags = (
        f"'{{\"feature\":\"' {cat} (CASE {j} % 5 {feature_case} END) {cat} '\",\"tenant\":\"t' "
        f"{cat} ({j} / 5){txt} {cat} '\"}}'"
    )
    ts = f"({BASE_US} + i * {step})"
    stamp = (
        f"to_char(to_timestamp({ts} / 1000000.0) AT TIME ZONE 'UTC', "
        f"'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'"
        if pg
        else f"strftime('%Y-%m-%dT%H:%M:%S', {ts} / 1000000, 'unixepoch') || '+00:00'"
    )
    b = ("TRUE", "FALSE") if pg else ("1", "0")
    return {
        "record_id": f"'rec-' {cat} i{txt}",
        "ts_us": ts,
        "timestamp": stamp,
        "run_id": f"'call-' {cat} i{txt}",
        "parent_run_id": f"'run-' {cat} (i / 4){txt}",
        "root_run_id": f"'run-' {cat} (i / 4){txt}",
        "provider": "'openai'",
        "model": model,
        "kind": "'chat'",
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_tokens": "0",
        "cache_write_5m_tokens": "0",
        "cache_write_1h_tokens": "0",
        "reasoning_tokens": "0",
        "usage_estimated": b[1],
        "cost_total": (
            f"CASE WHEN {priced} THEN {total}::numeric / 1000000000000 END"
            if pg
            else f"CASE WHEN {priced} THEN {money(total)} END"
        ),
        "cost_parts": (
            f"CASE WHEN {priced} THEN ('{{\"input\":\"' {cat} {money(cin)} {cat} '\",\"output\":\"' "
            f"{cat} {money(cout)} {cat} '\"}}'){'::jsonb' if pg else ''} END"
        ),
        "price_model": f"CASE WHEN {priced} THEN {model} END",
        "priced": f"({priced})" if pg else f"CASE WHEN {priced} THEN 1 ELSE 0 END",
        "estimated": b[1],
        "latency_ms": lat,
        "streamed": b[1],
        "tags": f"({tags})::jsonb" if pg else tags,
        "cache_outcome": "'miss'",
        "attempt": "1",
        "framework": "'langchain'",
        "name": "'answer'",
        "cost_p": f"CASE WHEN {priced} THEN {total} END",
        "cost_input_p": f"CASE WHEN {priced} THEN {cin} END",
        "cost_output_p": f"CASE WHEN {priced} THEN {cout} END",
        "money_inexact": "0",
        "lat_bucket": f"CAST(round(ln({lat}) * 50) AS INTEGER)",
        "tagset": f"({j} + 1)",
        "run_key": f"'run-' {cat} (i / 4){txt}",
    }


# -- SQLite ---------------------------------------------------------------------------------

def build_sqlite(path: Path, n: int) -> None:
    """A SQLite ledger (created by the ledger itself) holding ``n`` generated calls."""
    from tokenomy.ledger import SQLiteLedger
    from tokenomy.ledger._rollup import fill_sql
    from tokenomy.ledger._sqlite_schema import COUNTS, ROLLUP, RUNS, TABLE, TAG_ITEMS, fill_used
    from tokenomy.ledger._sqlite_schema import TAGSETS as TAGSET_TABLE

    SQLiteLedger(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    for j in range(TAGSETS):
        conn.execute(f"INSERT INTO {TAGSET_TABLE} (id, tags) VALUES (?, ?)", (j + 1, _tags(j)))
        conn.execute(
            f"INSERT INTO {TAG_ITEMS} (key, value, tagset) VALUES ('feature', ?, ?), "
            "('tenant', ?, ?)",
            (FEATURES[j % 5], j + 1, f"t{j // 5}", j + 1),
        )
    ex = _exprs(n, pg=False)
    conn.execute(
        f"INSERT INTO {TABLE} ({', '.join(ex)}) "
        f"WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {n - 1}) "
        f"SELECT {', '.join(ex.values())} FROM s"
    )
    # the runs table the writer keeps (schema v4): one row per run
    conn.execute(f"INSERT INTO {RUNS} (run_key) SELECT DISTINCT run_key FROM {TABLE}")
    conn.execute(f"UPDATE {COUNTS} SET runs = (SELECT COUNT(*) FROM {RUNS})")  # v7
    # the sparse columns the rows fill, as the writer lists them (schema v6)
    fill_used(conn)
    # the monthly rollup of the rows, as the writer adds each batch to it (schema v7)
    conn.execute(fill_sql(TABLE, ROLLUP, "WHERE true", pg=False))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def build_plain_sqlite(path: Path, n: int) -> None:
    """The floor's plain table: the same calls, ``feature`` as a column."""
    ex = _exprs(n, pg=False)
    feature = " ".join(f"WHEN {k} THEN '{f}'" for k, f in enumerate(FEATURES))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "CREATE TABLE plain (feature TEXT, model TEXT, cost_p INTEGER, input_tokens INTEGER, "
        "output_tokens INTEGER, latency_ms REAL)"
    )
    conn.execute(
        "INSERT INTO plain WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s "
        f"WHERE i < {n - 1}) SELECT CASE (i % {TAGSETS}) % 5 {feature} END, {ex['model']}, "
        f"{ex['cost_p']}, {ex['input_tokens']}, {ex['output_tokens']}, {ex['latency_ms']} FROM s"
    )
    conn.close()


FLOOR_SQL = (
    "SELECT feature, COUNT(*), SUM(cost_p), SUM(input_tokens), SUM(output_tokens), "
    "AVG(latency_ms) FROM plain GROUP BY feature"
)


def floor_sqlite(path: Path) -> float:
    conn = sqlite3.connect(path)
    t = time.perf_counter()
    conn.execute(FLOOR_SQL).fetchall()
    elapsed = time.perf_counter() - t
    conn.close()
    return elapsed


# -- PostgreSQL -----------------------------------------------------------------------------

def build_postgres(schema: str, n: int) -> str:
    """A PostgreSQL ledger in ``schema`` (created by the ledger) holding ``n`` calls, and the
    floor's plain table next to it; returns the ledger spec for ``--ledger``."""
    import psycopg

    from tokenomy.ledger import PostgresLedger
    from tokenomy.ledger._postgres_schema import fill_used_postgres
    from tokenomy.ledger._rollup import fill_sql

    PostgresLedger(PG_URL, schema=schema).close()
    ex = _exprs(n, pg=True)
    feature = " ".join(f"WHEN {k} THEN '{f}'" for k, f in enumerate(FEATURES))
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        t = f'"{schema}".tokenomy_records'
        for j in range(TAGSETS):
            conn.execute(
                f'INSERT INTO "{schema}".tokenomy_records_tagsets (id, tags) VALUES (%s, %s)',
                [j + 1, _tags(j)],
            )
            conn.execute(
                f'INSERT INTO "{schema}".tokenomy_records_tag_items (key, value, tagset) '
                "VALUES ('feature', %s, %s), ('tenant', %s, %s)",
                [FEATURES[j % 5], j + 1, f"t{j // 5}", j + 1],
            )
        chunk = 1_000_000
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk) - 1
            conn.execute(
                f"INSERT INTO {t} ({', '.join(ex)}) SELECT {', '.join(ex.values())} "
                f"FROM generate_series({lo}::bigint, {hi}::bigint) AS i"
            )
        conn.execute(
            f'INSERT INTO "{schema}".tokenomy_records_runs (run_key) '
            f"SELECT DISTINCT run_key FROM {t}"
        )
        conn.execute(  # v7: the runs counted
            f'UPDATE "{schema}".tokenomy_records_counts '
            f'SET runs = (SELECT COUNT(*) FROM "{schema}".tokenomy_records_runs)'
        )
        fill_used_postgres(conn, t, f'"{schema}".tokenomy_records_used')
        # the monthly rollup of the rows, as the writer adds each batch to it (schema v7)
        conn.execute(fill_sql(t, f'"{schema}".tokenomy_records_rollup', "WHERE true", pg=True))
        conn.execute(
            f'CREATE TABLE "{schema}".plain AS SELECT CASE (i % {TAGSETS}) % 5 {feature} END '
            f"AS feature, {ex['model']} AS model, {ex['cost_p']} AS cost_p, "
            f"{ex['input_tokens']} AS input_tokens, {ex['output_tokens']} AS output_tokens, "
            f"{ex['latency_ms']} AS latency_ms FROM generate_series(0::bigint, {n - 1}::bigint) AS i"
        )
        conn.execute(f"VACUUM ANALYZE {t}")
        conn.execute(f'VACUUM ANALYZE "{schema}".tokenomy_records_runs')
        conn.execute(f'VACUUM ANALYZE "{schema}".tokenomy_records_rollup')
        conn.execute(f'VACUUM ANALYZE "{schema}".plain')
    return f"{PG_URL}?schema={schema}"


def floor_postgres(schema: str) -> float:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        t = time.perf_counter()
        conn.execute(FLOOR_SQL.replace("FROM plain", f'FROM "{schema}".plain')).fetchall()
        return time.perf_counter() - t


def drop_postgres(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# -- the command, as a user runs it ---------------------------------------------------------

# As an installed package runs: with its bytecode cached (pip writes .pyc files at install).
# Shells that set PYTHONDONTWRITEBYTECODE (this project's CI does) would make every start
# compile pydantic and the rest again, about 0.4 s; the warm-up run writes the cache.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_cli(ledger: str, out_path: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of ``tokenomy report --by feature --format json``."""
    argv = [sys.executable, "-m", "tokenomy", "report", "--ledger", ledger,
            "--by", "feature", "--format", "json"]  # fmt: skip
    with out_path.open("wb") as out:
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, env=_ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"tokenomy report failed ({proc.returncode}): {err}")
    return elapsed, usage.ru_maxrss / 1024


def check_output(out_path: Path, n: int) -> None:
    """The command's JSON adds up: every call counted, the groups sum to the totals."""
    import json

    doc = json.loads(out_path.read_text())
    assert doc["totals"]["count"] == n, doc["totals"]["count"]
    assert doc["runs_total"] == (n + 3) // 4, doc["runs_total"]  # four calls per run
    groups = doc["groups"]
    assert sorted(g["key"]["feature"] for g in groups) == sorted(FEATURES[: min(5, n)])
    assert sum(Decimal(g["cost"]) for g in groups) == Decimal(doc["totals"]["cost"])


def in_process(ledger: str) -> float:
    """Seconds of the report's aggregation alone (totals and groups by feature, one query),
    in this process: the command's time minus interpreter start, imports and output."""
    from tokenomy.ledger._open import open_ledger_read_only

    store = open_ledger_read_only(ledger)
    try:
        t = time.perf_counter()
        store.aggregate_many([(), ("feature",)])
        return time.perf_counter() - t
    finally:
        store.close()


def measure(floor: Any, ledger: str, n: int, rounds: int, label: str) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="tokenomy-bench-") as d:
        out = Path(d) / "report.json"
        floor()  # warm the page cache
        run_cli(ledger, out)
        loads = [os.getloadavg()[0]]
        floors, cli, rss, inproc = [], [], [], []
        for _ in range(rounds):
            floors.append(floor())
            wall, mb = run_cli(ledger, out)
            cli.append(wall)
            rss.append(mb)
            inproc.append(in_process(ledger))
        loads.append(os.getloadavg()[0])
        check_output(out, n)
    load = f"{min(loads):.1f}-{max(loads):.1f}"
    best_floor, best_cli, peak = min(floors), min(cli), max(rss)
    best_in = min(inproc)
    ratio = best_cli / best_floor
    return [
        {
            "benchmark": "report",
            "case": (
                f"{label}: floor = one SQL GROUP BY feature over a plain table, in-process, "
                f"alternating with the command, best of {rounds}"
            ),
            "calls": f"{n:,}",
            "seconds": f"{best_floor:.3f}",
            "vs_floor": "1.00x",
            "peak_mb": "",
            "goal": "",
            "met": "",
            "load": load,
        },
        {
            "benchmark": "report",
            "case": (
                f"{label}: tokenomy report --by feature --format json (subprocess, "
                f"start-up included), best of {rounds}"
            ),
            "calls": f"{n:,}",
            "seconds": f"{best_cli:.3f}",
            "vs_floor": f"{ratio:.2f}x",
            "peak_mb": f"{peak:.0f}",
            "goal": f"<= {GOAL_RATIO:g}x, < {GOAL_MB:g} MB",
            "met": "yes" if ratio <= GOAL_RATIO and peak < GOAL_MB else "NO",
            "load": load,
        },
        {
            "benchmark": "report",
            "case": f"{label}:   of which the aggregation query (totals + groups), in-process",
            "calls": f"{n:,}",
            "seconds": f"{best_in:.3f}",
            "vs_floor": f"{best_in / best_floor:.2f}x",
            "peak_mb": "",
            "goal": "",
            "met": "",
            "load": load,
        },
    ]


def record_call_us(n: int) -> dict[str, Any]:
    """Writing through ``tokenomy.record_call`` into a SQLite ledger, per call (flush included)."""
    import tokenomy
    from tokenomy.ledger import SQLiteLedger
    from tokenomy.usage import Usage

    with tempfile.TemporaryDirectory(prefix="tokenomy-bench-") as d:
        store = SQLiteLedger(Path(d) / "ledger.db")
        usage = Usage(input=1200, output=200, cache_read=1024)
        for k in range(200):  # warm-up
            tokenomy.record_call(model="gpt-4o", provider="openai", usage=usage, ledger=store)
        store.flush()
        with tokenomy.track(feature="search", tenant="t1"):
            t = time.perf_counter()
            for k in range(n):
                tokenomy.record_call(
                    model=WRITE_MODELS[k % 3], provider="openai", usage=usage, latency_ms=300.0,
                    ledger=store,
                )  # fmt: skip
            store.flush()
            elapsed = time.perf_counter() - t
        store.close()
    return {
        "benchmark": "report",
        "case": "writing: tokenomy.record_call into SQLite, per call (flush included)",
        "calls": f"{n:,}",
        "seconds": f"{elapsed:.3f}",
        "vs_floor": f"{elapsed / n * 1e6:.1f} us/call",
        "peak_mb": "",
        "goal": "",
        "met": "",
        "load": f"{os.getloadavg()[0]:.1f}",
    }


def _progress(rows: list[dict[str, Any]]) -> None:
    """Each measured row on stderr as soon as it is known (a long run keeps what it measured)."""
    for r in rows:
        print(f"  {r['case']}: {r['calls']} calls, {r['seconds']} s, {r['vs_floor']}, "
              f"peak {r['peak_mb'] or '-'} MB, load {r['load']}", file=sys.stderr, flush=True)  # fmt: skip


def run(
    n: int = 1_000_000,
    *,
    rounds: int = 3,
    postgres: bool = True,
    pg_10m: bool = False,
    write_n: int = 20_000,
    sqlite: bool = True,
) -> list[dict[str, Any]]:
    """The benchmark rows (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    if sqlite:
        with tempfile.TemporaryDirectory(prefix="tokenomy-bench-") as d:
            ledger, plain = Path(d) / "ledger.db", Path(d) / "plain.db"
            build_sqlite(ledger, n)
            build_plain_sqlite(plain, n)
            measured = measure(lambda: floor_sqlite(plain), str(ledger), n, rounds, "SQLite")
            _progress(measured)
            rows += measured
    sizes = [n] if postgres else []
    if pg_10m:
        sizes.append(10_000_000)
    for size in sizes:
        schema = f"{SCHEMA_PREFIX}_{uuid.uuid4().hex[:8]}"
        try:
            spec = build_postgres(schema, size)
            measured = measure(
                lambda schema=schema: floor_postgres(schema), spec, size, rounds, "PostgreSQL"
            )
            _progress(measured)
            rows += measured
        finally:
            drop_postgres(schema)
    rows.append(record_call_us(write_n))
    return rows


def main(argv: list[str]) -> int:
    import argparse

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _table import print_table

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--n", type=int, default=1_000_000, help="calls per ledger (1,000,000)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    p.add_argument("--pg-10m", action="store_true", help="also 10,000,000 calls in PostgreSQL")
    p.add_argument("--pg-10m-only", action="store_true", help="only the 10,000,000-call row")
    p.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = p.parse_args(argv)
    only = args.pg_10m_only
    rows = run(
        args.n,
        rounds=args.rounds,
        postgres=not (args.no_postgres or only),
        pg_10m=args.pg_10m or only,
        sqlite=not (only or args.no_sqlite),
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print_table(f"tokenomy report on a big ledger vs one SQL aggregate (load {load})", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
