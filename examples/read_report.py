"""Record a few calls into a SQLite ledger, then read them back as a report (offline, no key).

    python examples/read_report.py [LEDGER.db]

The calls are made up (no provider is contacted); their usage is priced with the bundled price
book. Prints the spend per feature and each run's calls as a tree.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import tokenomy
from tokenomy import SQLiteLedger, Usage
from tokenomy.report import Report, format_cost


def write_calls(path: Path) -> None:
    """Two features, two users: what an app would record while serving requests."""
    with SQLiteLedger(path) as ledger:
        with tokenomy.track(feature="search", user="alice", run_name="search", ledger=ledger):
            tokenomy.record_call(
                model="gpt-4o",
                provider="openai",
                name="plan",
                latency_ms=820.0,
                usage=Usage(input=1200, output=300, cache_read=200),
            )
            tokenomy.record_call(
                model="gpt-4o-mini",
                provider="openai",
                name="rank",
                latency_ms=210.0,
                usage=Usage(input=500, output=100),
            )
        with tokenomy.track(feature="chat", user="bob", run_name="chat", ledger=ledger):
            tokenomy.record_call(
                model="claude-sonnet-4-5",
                provider="anthropic",
                name="answer",
                latency_ms=1530.0,
                usage=Usage(input=2000, output=500, cache_read=1000, cache_write_5m=500),
            )


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path(tempfile.mkdtemp()) / "ledger.db"
    write_calls(path)

    report = Report.from_ledger(str(path))
    print(f"ledger: {path}")
    print(
        f"total: {format_cost(report.totals.cost, report.totals.unpriced)} "
        f"over {report.totals.count} calls"
    )
    print("by feature:")
    for group in report.by("feature"):
        print(
            f"  {group.key['feature']:<8} {group.count} calls  "
            f"{format_cost(group.cost, group.unpriced)}  (exact: {group.cost})"
        )
    print("runs:")
    for run in report.runs():
        print(f"  {run.label}  {format_cost(run.cost, run.unpriced)}")
        for call in run.tree():
            r = call.record
            print(
                f"  {'  ' * call.depth}└ {r.name} {r.model} "
                f"in={r.usage.input} out={r.usage.output} cost={r.total_cost}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
