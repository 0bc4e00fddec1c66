"""``BatchStore``: a batch job's items, rounds, results and errors, kept durably in SQLite.

Everything a crashed process needs to resume without paying twice: each item's request and
state (``pending`` → ``submitting`` → ``submitted`` → ``done`` / ``failed``), each round
(one provider batch: its key, then its id once the provider answered), and every attempt's
outcome with whether it is in the ledger yet. Each step is one transaction (WAL mode), so a
kill between two steps leaves a state the next step can carry on from.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["AttemptRow", "BatchStore", "ItemRow", "JobRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokenomy_batch_jobs (
    job_id TEXT PRIMARY KEY, provider TEXT NOT NULL, run_id TEXT NOT NULL,
    tags TEXT NOT NULL, max_retries INTEGER NOT NULL, created REAL NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokenomy_batch_items (
    job_id TEXT NOT NULL, custom_id TEXT NOT NULL, seq INTEGER NOT NULL, run_id TEXT NOT NULL,
    request TEXT NOT NULL, body TEXT NOT NULL, state TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0, round INTEGER, result TEXT, error TEXT,
    PRIMARY KEY (job_id, custom_id)
);
CREATE INDEX IF NOT EXISTS tokenomy_batch_items_state ON tokenomy_batch_items (job_id, state);
CREATE TABLE IF NOT EXISTS tokenomy_batch_rounds (
    job_id TEXT NOT NULL, round INTEGER NOT NULL, key TEXT NOT NULL, batch_id TEXT,
    state TEXT NOT NULL, PRIMARY KEY (job_id, round)
);
CREATE TABLE IF NOT EXISTS tokenomy_batch_attempts (
    job_id TEXT NOT NULL, custom_id TEXT NOT NULL, attempt INTEGER NOT NULL,
    batch_id TEXT NOT NULL, ok INTEGER NOT NULL, result TEXT, error TEXT,
    recorded INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (job_id, custom_id, attempt)
);
CREATE INDEX IF NOT EXISTS tokenomy_batch_attempts_todo
    ON tokenomy_batch_attempts (job_id, recorded);
"""


@dataclass(frozen=True, slots=True)
class JobRow:
    job_id: str
    provider: str
    run_id: str
    tags: dict[str, str]
    max_retries: int
    created: float
    state: str


@dataclass(frozen=True, slots=True)
class ItemRow:
    custom_id: str
    seq: int
    run_id: str
    request: dict[str, Any]
    body: dict[str, Any]
    state: str
    tries: int
    result: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True, slots=True)
class AttemptRow:
    custom_id: str
    attempt: int
    batch_id: str
    ok: bool
    result: dict[str, Any] | None
    error: str | None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


class BatchStore:
    """Batch jobs in a SQLite file (``":memory:"`` for one process only). Thread-safe."""

    def __init__(self, path: str | Path = "tokenomy-batches.sqlite") -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 10000")
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"BatchStore({self.path!r})"

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- jobs ----------------------------------------------------------------------------------

    def create_job(
        self,
        job: JobRow,
        items: Sequence[tuple[str, str, Mapping[str, Any], Mapping[str, Any]]],
    ) -> None:
        """A new job and its items ``(custom_id, run_id, request, body)``, all pending."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO tokenomy_batch_jobs VALUES (?,?,?,?,?,?,?)",
                (
                    job.job_id,
                    job.provider,
                    job.run_id,
                    _dumps(job.tags),
                    job.max_retries,
                    job.created,
                    job.state,
                ),
            )
            db.executemany(
                "INSERT INTO tokenomy_batch_items (job_id, custom_id, seq, run_id, request, body,"
                " state) VALUES (?,?,?,?,?,?,'pending')",
                [
                    (job.job_id, cid, seq, run, _dumps(req), _dumps(body))
                    for seq, (cid, run, req, body) in enumerate(items)
                ],
            )

    def job(self, job_id: str) -> JobRow | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM tokenomy_batch_jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        if row is None:
            return None
        return JobRow(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])

    def jobs(self) -> list[JobRow]:
        with self._lock:
            ids = [
                r[0]
                for r in self._db.execute("SELECT job_id FROM tokenomy_batch_jobs ORDER BY created")
            ]
        return [j for j in (self.job(i) for i in ids) if j is not None]

    def set_job_state(self, job_id: str, state: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE tokenomy_batch_jobs SET state = ? WHERE job_id = ?", (state, job_id))

    # -- items -----------------------------------------------------------------------------

    def items(self, job_id: str, state: str | None = None) -> list[ItemRow]:
        sql = (
            "SELECT custom_id, seq, run_id, request, body, state, tries, result, error"
            " FROM tokenomy_batch_items WHERE job_id = ?"
        )
        args: tuple[Any, ...] = (job_id,)
        if state is not None:
            sql += " AND state = ?"
            args += (state,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", args).fetchall()
        return [
            ItemRow(
                r[0],
                r[1],
                r[2],
                json.loads(r[3]),
                json.loads(r[4]),
                r[5],
                r[6],
                None if r[7] is None else json.loads(r[7]),
                r[8],
            )
            for r in rows
        ]

    def counts(self, job_id: str) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT state, COUNT(*) FROM tokenomy_batch_items WHERE job_id = ? GROUP BY state",
                (job_id,),
            ).fetchall()
        return {str(state): int(n) for state, n in rows}

    # -- rounds ----------------------------------------------------------------------------

    def begin_round(self, job_id: str, custom_ids: Sequence[str]) -> tuple[int, str]:
        """Mark ``custom_ids`` as being submitted in a new round; its number and key."""
        with self._tx() as db:
            last = db.execute(
                "SELECT COALESCE(MAX(round), 0) FROM tokenomy_batch_rounds WHERE job_id = ?",
                (job_id,),
            ).fetchone()[0]
            number = int(last) + 1
            key = f"{job_id}:{number}"
            db.execute(
                "INSERT INTO tokenomy_batch_rounds VALUES (?,?,?,NULL,'submitting')",
                (job_id, number, key),
            )
            db.executemany(
                "UPDATE tokenomy_batch_items SET state = 'submitting', round = ?"
                " WHERE job_id = ? AND custom_id = ?",
                [(number, job_id, cid) for cid in custom_ids],
            )
        return number, key

    def opened_round(self, job_id: str, number: int, batch_id: str) -> None:
        """The provider accepted round ``number`` as ``batch_id``."""
        with self._tx() as db:
            db.execute(
                "UPDATE tokenomy_batch_rounds SET batch_id = ?, state = 'open'"
                " WHERE job_id = ? AND round = ?",
                (batch_id, job_id, number),
            )
            db.execute(
                "UPDATE tokenomy_batch_items SET state = 'submitted'"
                " WHERE job_id = ? AND round = ? AND state = 'submitting'",
                (job_id, number),
            )

    def abandon_round(self, job_id: str, number: int) -> None:
        """Round ``number`` never reached the provider: its items are pending again."""
        with self._tx() as db:
            db.execute(
                "UPDATE tokenomy_batch_rounds SET state = 'abandoned'"
                " WHERE job_id = ? AND round = ?",
                (job_id, number),
            )
            db.execute(
                "UPDATE tokenomy_batch_items SET state = 'pending', round = NULL"
                " WHERE job_id = ? AND round = ? AND state = 'submitting'",
                (job_id, number),
            )

    def rounds(self, job_id: str, state: str) -> list[tuple[int, str, str | None]]:
        """``(round, key, batch_id)`` of the job's rounds in ``state``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT round, key, batch_id FROM tokenomy_batch_rounds"
                " WHERE job_id = ? AND state = ? ORDER BY round",
                (job_id, state),
            ).fetchall()
        return [(int(r[0]), str(r[1]), r[2]) for r in rows]

    def all_batch_ids(self, job_id: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT batch_id FROM tokenomy_batch_rounds WHERE job_id = ?"
                " AND batch_id IS NOT NULL ORDER BY round",
                (job_id,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def collect_round(
        self,
        job_id: str,
        number: int,
        batch_id: str,
        outcomes: Mapping[str, tuple[dict[str, Any] | None, str | None]],
        max_retries: int,
    ) -> None:
        """Store every outcome of round ``number`` (``custom_id -> (result, error)``; an item
        of the round with no outcome failed) in one transaction: succeeded items are done, a
        failed one pending again while it has retries left, else failed."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT custom_id, tries FROM tokenomy_batch_items"
                " WHERE job_id = ? AND round = ? AND state = 'submitted'",
                (job_id, number),
            ).fetchall()
            for cid, tries in rows:
                result, error = outcomes.get(cid, (None, "missing from the batch's results"))
                attempt = int(tries) + 1
                db.execute(
                    "INSERT OR IGNORE INTO tokenomy_batch_attempts"
                    " (job_id, custom_id, attempt, batch_id, ok, result, error)"
                    " VALUES (?,?,?,?,?,?,?)",
                    (
                        job_id,
                        cid,
                        attempt,
                        batch_id,
                        int(result is not None),
                        None if result is None else _dumps(result),
                        error,
                    ),
                )
                if result is not None:
                    state = "done"
                else:
                    state = "pending" if attempt <= max_retries else "failed"
                db.execute(
                    "UPDATE tokenomy_batch_items SET state = ?, tries = ?, result = ?, error = ?"
                    " WHERE job_id = ? AND custom_id = ?",
                    (
                        state,
                        attempt,
                        None if result is None else _dumps(result),
                        error,
                        job_id,
                        cid,
                    ),
                )
            db.execute(
                "UPDATE tokenomy_batch_rounds SET state = 'collected'"
                " WHERE job_id = ? AND round = ?",
                (job_id, number),
            )

    # -- ledger bookkeeping ------------------------------------------------------------------

    def unrecorded(self, job_id: str, limit: int = 200) -> list[AttemptRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT custom_id, attempt, batch_id, ok, result, error"
                " FROM tokenomy_batch_attempts WHERE job_id = ? AND recorded = 0"
                " ORDER BY rowid LIMIT ?",
                (job_id, limit),
            ).fetchall()
        return [
            AttemptRow(
                r[0], int(r[1]), r[2], bool(r[3]), None if r[4] is None else json.loads(r[4]), r[5]
            )
            for r in rows
        ]

    def mark_recorded(self, job_id: str, keys: Sequence[tuple[str, int]]) -> None:
        with self._tx() as db:
            db.executemany(
                "UPDATE tokenomy_batch_attempts SET recorded = 1"
                " WHERE job_id = ? AND custom_id = ? AND attempt = ?",
                [(job_id, cid, attempt) for cid, attempt in keys],
            )

    def attempts(self, job_id: str) -> int:
        with self._lock:
            return int(
                self._db.execute(
                    "SELECT COUNT(*) FROM tokenomy_batch_attempts WHERE job_id = ?", (job_id,)
                ).fetchone()[0]
            )


def now() -> float:
    """Wall-clock seconds (job creation times)."""
    return time.time()
