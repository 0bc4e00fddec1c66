"""``tokenomy review`` on a month of traffic: 1,000,000 calls in SQLite, against ``tokenomy
report`` on the same ledger.

Goal (issue 15): the review (every section, the recommendations, forecast and anomalies, the
HTML file written) within 3x the time of ``tokenomy report --by feature --format json`` on the
same ledger. Both run as subprocesses, as a user starts them (Python start-up included),
alternating, ``rounds`` times; the best of each is kept (this machine's CPU changes speed every
few seconds; other processes can only slow a round down).

The ledger is ``benchmarks/bench_report.py``'s generated month (the layout the ledger writes,
rows made in SQL) plus the schema-v4 request columns: 5 stable prefixes (one per feature,
1,500 tokens), a request hash repeating every 200,000 calls, 2-11 messages per call.
``--n N`` changes the size (the HTML test builds it at 1,000,000 with :func:`build`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_report

GOAL_RATIO = 3.0
SINCE, UNTIL = "2025-12-01", "2025-12-31"
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def build(path: Path, n: int) -> None:
    """A SQLite ledger (created by the ledger itself) of ``n`` generated calls, with the v4
    request columns filled."""
    import sqlite3

    from tokenomy.ledger import SQLiteLedger
    from tokenomy.ledger._sqlite_schema import TABLE, TAG_ITEMS
    from tokenomy.ledger._sqlite_schema import TAGSETS as TAGSET_TABLE

    SQLiteLedger(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    for j in range(bench_report.TAGSETS):
        conn.execute(f"INSERT INTO {TAGSET_TABLE} (id, tags) VALUES (?, ?)", (j + 1, bench_report._tags(j)))
        conn.execute(
            f"INSERT INTO {TAG_ITEMS} (key, value, tagset) VALUES ('feature', ?, ?), ('tenant', ?, ?)",
            (bench_report.FEATURES[j % 5], j + 1, f"t{j // 5}", j + 1),
        )
    ex = bench_report._exprs(n, pg=False)
    ex.update(
        {
            "prefix_hash": "printf('%032d', (i % 200) % 5)",
            "request_hash": "printf('%032d', i % 200000)",
            "prefix_tokens": "1500",
            "message_count": "(2 + i % 10)",
        }
    )
    conn.execute(
        f"INSERT INTO {TABLE} ({', '.join(ex)}) "
        f"WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {n - 1}) "
        f"SELECT {', '.join(ex.values())} FROM s"
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def review_argv(ledger: str, html: Path) -> list[str]:
    """The review command the benchmark (and the HTML test) runs."""
    return [sys.executable, "-m", "tokenomy", "review", "--ledger", ledger, "--since", SINCE,
            "--until", UNTIL, "--user-tag", "tenant", "--format", "json", "--html", str(html),
            "--force"]  # fmt: skip


def _timed(argv: list[str], out: Path) -> float:
    with out.open("wb") as f:
        t = time.perf_counter()
        proc = subprocess.run(argv, stdout=f, stderr=subprocess.PIPE, env=_ENV, check=False)
        elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[3]} failed ({proc.returncode}): {proc.stderr.decode()}")
    return elapsed


def run(n: int = 1_000_000, *, rounds: int = 3) -> list[dict[str, Any]]:
    """The benchmark rows (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="tokenomy-bench-") as d:
        ledger = Path(d) / "ledger.db"
        t = time.perf_counter()
        build(ledger, n)
        print(f"  built {n:,} calls in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        report = [sys.executable, "-m", "tokenomy", "report", "--ledger", str(ledger), "--by",
                  "feature", "--format", "json"]  # fmt: skip
        review = review_argv(str(ledger), Path(d) / "review.html")
        _timed(report, Path(d) / "r.json")  # warm the page cache
        reports, reviews = [], []
        for _ in range(rounds):
            reports.append(_timed(report, Path(d) / "r.json"))
            reviews.append(_timed(review, Path(d) / "v.json"))
            print(f"  report {reports[-1]:.2f} s, review {reviews[-1]:.2f} s", file=sys.stderr)
    best_report, best_review = min(reports), min(reviews)
    ratio = best_review / best_report
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        {"benchmark": "review", "case": "SQLite: tokenomy report --by feature --format json (anchor)",
         "calls": f"{n:,}", "seconds": f"{best_report:.2f}", "vs_anchor": "1.00x", "goal": "",
         "met": "", "load": load},
        {"benchmark": "review", "case": "SQLite: tokenomy review --format json --html (all sections)",
         "calls": f"{n:,}", "seconds": f"{best_review:.2f}", "vs_anchor": f"{ratio:.2f}x",
         "goal": f"<= {GOAL_RATIO:g}x", "met": "yes" if ratio <= GOAL_RATIO else "NO", "load": load},
    ]  # fmt: skip


def main(argv: list[str]) -> int:
    import argparse

    from _table import print_table

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--n", type=int, default=1_000_000, help="calls (1,000,000)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    args = p.parse_args(argv)
    print_table("tokenomy review vs tokenomy report on a big ledger", run(args.n, rounds=args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
