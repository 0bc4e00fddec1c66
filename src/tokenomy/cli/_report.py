"""``tokenomy report``: totals, runs, spend by tag or model and call-outs of a ledger."""

from __future__ import annotations

import argparse
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tokenomy.cli._common import (
    EXIT_CODES,
    CommandError,
    add_ledger_arguments,
    fail,
    ledger_spec,
    open_ledger_for_reading,
    record_filter,
)

__all__ = ["register", "run"]

_PROG = "tokenomy report"
_TABLE_RUNS = 10

_DESCRIPTION = """\
Report what the calls in a ledger cost: totals (cost by dimension, tokens by kind, cache hits
and savings, latency p50/p95/p99), the latest runs with their calls, spend grouped by tags or
model (--by), the most expensive calls, and the calls whose cost is unknown (no price for their
model) or estimated. A cost that leaves out unpriced calls reads as a lower bound
("$1.23 + 2 unpriced"; cost_complete false in JSON/CSV).

--format table (rich tables, the default) is for people; json and csv are for machines: stable
keys, money as exact decimal strings (a group whose calls are all unpriced has cost null / an
empty cell, never 0). --csv picks the CSV table: groups (one row per --by group), records (one
per call, streamed) or runs (one per root run).
The ledger is --ledger, else $TOKENOMY_LEDGER; it is only read (never created or migrated).
The store adds up the figures (SQL for SQLite and PostgreSQL ledgers); latency percentiles from
a SQL ledger are approximate (within 1%) and marked so.
"""


def _by_arg(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} names no tag (for example --by feature,user)")
    return names


def _count_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return value


def register(subparsers: Any) -> None:
    """Add the ``report`` command."""
    parser = subparsers.add_parser(
        "report",
        help="report cost totals, runs and spend by tag or model from a ledger",
        description=_DESCRIPTION + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_ledger_arguments(parser)
    parser.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="output (table)"
    )
    parser.add_argument(
        "--by",
        type=_by_arg,
        default=("model",),
        metavar="TAG[,TAG]",
        help="group spend by these tags (or model, provider, kind, hour, day, month, run); "
        "default model",
    )
    parser.add_argument(
        "--top", type=_count_arg, default=5, metavar="N", help="most expensive calls shown (5)"
    )
    parser.add_argument(
        "--runs",
        type=_count_arg,
        default=None,
        metavar="N",
        help=f"latest runs shown ({_TABLE_RUNS}); --format csv --csv runs lists all",
    )
    parser.add_argument(
        "--csv",
        dest="csv_kind",
        choices=("groups", "records", "runs"),
        default="groups",
        help="which table --format csv writes (groups)",
    )
    parser.set_defaults(func=run)


def redact(spec: str) -> str:
    """``spec`` fit to print: a URL's password is replaced by ``***``."""
    if "://" not in spec:
        return spec
    parts = urlsplit(spec)
    if parts.password is None:
        return spec
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def run(args: argparse.Namespace) -> int:
    """Print the report of the matching records; see the command description for exit codes."""
    try:
        where = record_filter(args)
        spec = ledger_spec(args)
        store = open_ledger_for_reading(spec)
    except CommandError as exc:
        return fail(_PROG, exc)
    from tokenomy.exceptions import TokenomyError

    try:
        return _report(args, store, where, spec)
    except TokenomyError as exc:
        return fail(_PROG, CommandError(str(exc)))
    finally:
        store.close()


def _report(args: argparse.Namespace, store: Any, where: Any, spec: str) -> int:
    from tokenomy.report import Report

    report = Report.from_ledger(store, where)
    report.prepare(args.by, ("model",))  # totals, groups and unpriced models: one query
    runs = _TABLE_RUNS if args.runs is None else args.runs
    if not report:
        matching = " matching the filters" if where is not None else ""
        note = f"No records in {redact(spec)}{matching}: nothing to report."
        if args.format == "table":
            print(note)
            return 0
        print(f"{_PROG}: {note}", file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(report.to_json(by=args.by, top=args.top, runs=runs) + "\n")
    elif args.format == "csv":
        report.write_csv(sys.stdout, args.csv_kind, by=args.by)
    else:
        from tokenomy.report._render import default_console

        report.render(default_console(), by=args.by, top=args.top, runs=runs)
    return 0
