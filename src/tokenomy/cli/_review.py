"""``tokenomy review``: the cost review of a ledger (terminal, JSON, HTML, anomalies,
Prometheus exposition)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tokenomy.cli._common import (
    EXIT_CODES,
    EXIT_REFUSED,
    CommandError,
    add_ledger_arguments,
    fail,
    ledger_spec,
    open_ledger_for_reading,
    record_filter,
)

__all__ = ["MARKER", "register", "run", "write_review_html"]

_PROG = "tokenomy review"
#: The first line of every HTML review: a file starting with it may be replaced without --force.
MARKER = "<!-- tokenomy review -->"

_DESCRIPTION = """\
Review what a period cost and what to change: spend by day, feature, model and user (the top N
and the rest), the Pareto share, cost per request type and per usable output, response- and
prompt-cache hit rates and savings, truncation and retry waste, cascade escalation, budget
downgrades, latency p50/p95/p99 by model and the period before; recommendations each with its
evidence and projected monthly saving; a 30-day forecast (trend + weekly season, 95%
interval) and --scenario what-ifs; anomalies (--alerts: those alone).

The period is --since/--until (default: the 30 days up to now). The ledger (a SQLite file or
postgresql://...) is only read; its figures are added up by the store (SQL for SQLite and
PostgreSQL). --html FILE writes a self-contained page with charts (no network needed to open
it); --prometheus FILE the totals in the Prometheus exposition format. An existing file is
replaced only when it is an earlier review (or with --force).
"""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def _factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 1:
        raise argparse.ArgumentTypeError(f"expected a factor above 1, got {value}")
    return value


def register(subparsers: Any) -> None:
    """Add the ``review`` command."""
    parser = subparsers.add_parser(
        "review",
        help="review a period's cost: recommendations with savings, forecast, anomalies, HTML",
        description=_DESCRIPTION + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_ledger_arguments(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output (table)")
    parser.add_argument("--html", metavar="FILE", help="also write the review as a self-contained HTML file")
    parser.add_argument("--prometheus", metavar="FILE", help="also write Prometheus exposition text")
    parser.add_argument("--force", action="store_true", help="replace an existing output file")
    parser.add_argument("--alerts", action="store_true", help="print the anomalies only")
    parser.add_argument(
        "--scenario", action="append", default=[], metavar="TEXT",
        help="a what-if: 'traffic x3', 'spend x0.8', 'cache hit rate -20 points' (repeatable)",
    )
    parser.add_argument("--top", type=_positive, default=8, metavar="N", help="top N per group (8)")
    parser.add_argument("--feature-tag", default="feature", metavar="TAG", help="the feature tag (feature)")
    parser.add_argument("--user-tag", default="user", metavar="TAG", help="the user tag (user)")
    parser.add_argument(
        "--factor", type=_factor, default=2.0, metavar="K",
        help="an hour or a day is anomalous above K x the usual (2)",
    )
    parser.set_defaults(func=run)


def _check_output(path: str | None, force: bool, marker: str | None) -> None:
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise CommandError(f"{path} is a folder: give a file name")
    if p.exists() and not force:
        head = p.read_text("utf-8", errors="replace")[: len(marker)] if marker else ""
        if not marker or head != marker:
            raise CommandError(
                f"{path} exists and is not an earlier review: pass --force to replace it",
                EXIT_REFUSED,
            )


def write_review_html(review: Any, path: str | Path) -> Path:
    """Write ``review`` as HTML to ``path`` (the marker line first); returns the path."""
    from tokenomy.review import render_html

    p = Path(path)
    p.write_text(MARKER + "\n" + render_html(review), "utf-8")
    return p


def run(args: argparse.Namespace) -> int:
    """Print (and write) the review; see the command description for exit codes."""
    from tokenomy.exceptions import TokenomyError
    from tokenomy.review._forecast import parse_scenario

    try:
        where = record_filter(args)
        for s in args.scenario:
            parse_scenario(s)
        _check_output(args.html, args.force, MARKER)
        _check_output(args.prometheus, args.force, "# HELP tokenomy_")
        spec = ledger_spec(args)
        store = open_ledger_for_reading(spec)
    except TokenomyError as exc:
        return fail(_PROG, CommandError(str(exc)))
    except CommandError as exc:
        return fail(_PROG, exc)
    try:
        return _review(args, store, where)
    except TokenomyError as exc:
        return fail(_PROG, CommandError(str(exc)))
    finally:
        store.close()


def _review(args: argparse.Namespace, store: Any, where: Any) -> int:
    import json

    from tokenomy.review import TagNames, build_review, prometheus_text, render_terminal

    review = build_review(
        store,
        since=args.since,
        until=args.until,
        names=TagNames(feature=args.feature_tag, user=args.user_tag),
        top=args.top,
        scenarios=tuple(args.scenario),
        factor=args.factor,
        where=where,
    )
    if args.format == "json":
        data = review.to_json_dict()
        if args.alerts:
            data = {"anomalies": data["anomalies"]}
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        from tokenomy.report._render import default_console

        render_terminal(review, default_console(), alerts_only=args.alerts)
    if args.html:
        path = write_review_html(review, args.html)
        print(f"{_PROG}: wrote {path}", file=sys.stderr)
    if args.prometheus:
        from dataclasses import replace

        narrowed = replace(where, since=review.since, until=review.until) if where else None
        if narrowed is None:
            from tokenomy.ledger import RecordFilter

            narrowed = RecordFilter(since=review.since, until=review.until)
        text = prometheus_text(store, narrowed, labels=(args.feature_tag,))
        Path(args.prometheus).write_text(text, "utf-8")
        print(f"{_PROG}: wrote {args.prometheus}", file=sys.stderr)
    return 0
