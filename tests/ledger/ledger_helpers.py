"""Helpers shared by the ledger tests: a varied record set, PostgreSQL reachability."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from services import IN_CI, PG_URL, drop_schema, require_postgres  # noqa: F401 - re-exported
from tokenomy.ledger import CacheInfo, CostRecord
from tokenomy.pricing import Cost
from tokenomy.usage import Usage

BASE = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def _cost(total: str, *, tier: str | None = None, above: int | None = None, **parts: str) -> Cost:
    return Cost(
        total=Decimal(total),
        parts={k: Decimal(v) for k, v in parts.items()},
        model="m",
        service_tier=tier,
        context_above=above,
    )


def make_records() -> list[CostRecord]:
    """About forty records covering every field and every awkward value a store must keep.

    They are listed in insertion order, which is deliberately not time order (and two share a
    timestamp) so stores must sort.
    """
    models = [("gpt-4o", "openai"), ("claude-sonnet-4", "anthropic"), ("gemini-2.5-pro", None)]
    out: list[CostRecord] = []
    for i in range(36):
        model, provider = models[i % 3]
        ts = BASE + timedelta(hours=7 * i, microseconds=i)
        if i % 5 == 1:
            ts = ts.astimezone(timezone(timedelta(hours=2)))
        if i % 9 == 4:
            ts = ts.replace(tzinfo=None)  # naive: taken as UTC
        priced = i % 4 != 3
        hit = i % 6 == 5
        usage = Usage(
            input=1000 + 17 * i,
            output=200 + i,
            cache_read=100 if i % 2 else 0,
            cache_write_5m=10 if i % 7 == 0 else 0,
            cache_write_1h=5 if i % 11 == 0 else 0,
            reasoning=50 if i % 3 == 1 else 0,
            estimated=i % 8 == 2,
        )
        cost = None
        if priced:
            cost = (
                _cost("0")
                if hit
                else _cost(
                    f"0.00{i:02d}13750",
                    tier="priority" if i % 8 == 1 else None,
                    above=200_000 if i % 10 == 1 else None,
                    input=f"0.00{i:02d}1",
                    output="0.0000375",
                    cache_read="2.5E-7",
                )
            )
        tags: dict[str, str] = {"env": "prod" if i % 2 else "dev"}
        if i % 3 == 0:
            tags["team"] = "search" if i % 4 else "ads"
        if i % 10 == 7:
            tags['we"ird.key $[0]'] = "naïve ✓"
        if i % 13 == 12:
            tags = {}
        out.append(
            CostRecord(
                record_id=f"rec-{i:03d}",
                run_id=f"run-{i}",
                parent_run_id=None if i % 4 == 0 else f"root-{i % 4}",
                root_run_id=None if i % 4 == 0 else f"root-{i % 4}",
                timestamp=ts,
                provider=provider,
                model=model,
                kind="embedding" if i % 10 == 9 else "chat",
                usage=usage,
                cost=cost,
                priced=priced,
                estimated=i % 7 == 3,
                latency_ms=None if i % 5 == 0 else 100.25 + 13 * ((i * 7) % 19),
                ttft_ms=None if i % 2 else 40.5 + i,
                streamed=i % 2 == 0,
                tags=tags,
                cache=CacheInfo(
                    outcome="exact" if i % 12 == 5 else "semantic",
                    saved=Decimal("0.0125"),
                    similarity=0.97,
                )
                if hit
                else CacheInfo(),
                attempt=2 if i % 9 == 8 else 1,
                error="RateLimitError: slow down" if i % 17 == 16 else None,
                usable=None if i % 3 == 0 else i % 3 == 1,
                service_tier="batch" if i % 8 == 0 else "priority" if i % 8 == 1 else None,
                name="answer_question" if i % 2 else None,
                framework="langchain" if i % 3 else "llamaindex",
                truncated=i % 5 == 2,
            )
        )
    # Two records at the very same instant (ties keep insertion order) and one from the past.
    same = BASE + timedelta(days=1)
    out.append(CostRecord(record_id="tie-b", model="gpt-4o", timestamp=same, provider="openai"))
    out.append(CostRecord(record_id="tie-a", model="gpt-4o", timestamp=same, provider="openai"))
    out.append(
        CostRecord(
            record_id="old",
            model="gpt-4o-mini",
            provider="openai",
            timestamp=BASE - timedelta(days=30),
            usage=Usage(input=10, output=1),
            cost=_cost("0.0000021", input="0.0000015", output="0.0000006"),
            priced=True,
            tags={"env": "prod"},
        )
    )
    return out


def time_order(records: list[CostRecord]) -> list[CostRecord]:
    """Records sorted as every store must return them: by instant, ties in insertion order."""
    from tokenomy.ledger._filter import epoch_us

    return [r for _, _, r in sorted((epoch_us(r.timestamp), i, r) for i, r in enumerate(records))]


def subprocess_env(**extra: Any) -> dict[str, str]:
    """The environment for child Python processes (no ledger set unless given)."""
    env = {k: v for k, v in os.environ.items() if k != "TOKENOMY_LEDGER"}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def assert_same_totals(got: list[Any], want: list[Any]) -> None:
    """Two aggregate_records-like results agree: every figure exactly, the latency percentiles
    exactly or, when ``got`` says they are approximate (the SQL stores), within 1%."""
    import dataclasses

    assert [g.key for g in got] == [w.key for w in want]
    lat = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
    for g, w in zip(got, want, strict=True):
        blank = dict.fromkeys((*lat, "latency_approximate"))
        assert dataclasses.replace(g, **blank) == dataclasses.replace(w, **blank)
        for name in lat:
            a, b = getattr(g, name), getattr(w, name)
            if a is None or b is None or not g.latency_approximate:
                assert a == b, (name, a, b)
            else:
                assert abs(a - b) <= 0.01 * abs(b) + 1e-9, (name, a, b)


def write_sqlite_at(version: int, path: Path, records: list[CostRecord]) -> None:
    """A SQLite ledger holding ``records`` as schema ``version`` (5 or more) left it: its
    migrations up to ``version``, the records, their runs and (v6 on) the used columns."""
    from tokenomy.ledger._rows import ROW_COLUMNS, TAGSET_INDEX, to_row
    from tokenomy.ledger._sqlite_schema import (
        APPLICATION_ID,
        MIGRATIONS,
        RUNS,
        TABLE,
        TagsetCache,
        _statements,
        fill_used,
    )

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("BEGIN")
    for at, sql in MIGRATIONS:
        if at <= version:
            for statement in _statements(sql):
                conn.execute(statement)
    rows, _ = TagsetCache().resolve(conn, [to_row(r) for r in records], TAGSET_INDEX)
    conn.executemany(
        f"INSERT INTO {TABLE} ({', '.join(ROW_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(ROW_COLUMNS))})",
        rows,
    )
    conn.execute(f"INSERT INTO {RUNS} (run_key) SELECT DISTINCT run_key FROM {TABLE}")
    if version >= 6:
        fill_used(conn)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("COMMIT")
    conn.close()
