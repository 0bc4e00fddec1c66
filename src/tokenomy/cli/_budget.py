"""``tokenomy budget status``: each budget's spend, open reservations, what is left and when
its window resets, read from a budget store (a read: nothing is created or changed)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    """Add the ``budget`` command group."""
    p = sub.add_parser(
        "budget",
        help="show budgets: spend, open reservations, remaining, window reset",
        description="Read the budgets kept in a budget store.",
    )
    group = p.add_subparsers(dest="budget_command", metavar="SUBCOMMAND")
    status = group.add_parser(
        "status",
        help="each budget's spend, reservations, remaining and reset time",
        description="Show each budget (per scope value) in its current window.",
    )
    status.add_argument(
        "--store",
        required=True,
        help="the budget store: sqlite:///path/to/budgets.db or redis://host:port/db"
        "[?prefix=ns] (memory:// stores live inside one process and show nothing here)",
    )
    status.add_argument("--format", choices=("table", "json"), default="table")
    status.add_argument("--budget", action="append", help="only this budget (repeatable)")
    status.set_defaults(func=_status)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _open(url: str) -> Any:
    from tokenomy.budget import open_budget_store
    from tokenomy.budget._sqlite import SQLiteBudgetStore

    store = open_budget_store(url)
    if isinstance(store, SQLiteBudgetStore):
        store = SQLiteBudgetStore(store.path, read_only=True)
    return store


def _status(args: argparse.Namespace) -> int:
    from tokenomy.budget import budget_status
    from tokenomy.exceptions import BudgetStoreError, TokenomyError

    try:
        store = _open(args.store)
        rows = budget_status(store)
    except BudgetStoreError as exc:
        print(f"tokenomy budget status: cannot read {exc.store}: {exc.reason}", file=sys.stderr)
        return 1
    except TokenomyError as exc:
        print(f"tokenomy budget status: {exc}", file=sys.stderr)
        return 1
    if args.budget:
        rows = [r for r in rows if r.budget in set(args.budget)]
    if args.format == "json":
        json.dump({"store": store.url, "budgets": [r.to_dict() for r in rows]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if not rows:
        print(f"no budgets in {store.url}")
        return 0
    head = ("budget", "scope", "window", "limit", "spent", "reserved", "open", "remaining", "resets")
    table = [head]
    for r in rows:
        money = r.limit_usd is not None
        table.append(
            (
                r.budget,
                r.scope or "-",
                r.window,
                f"${r.limit_usd}" if money else f"{r.limit_tokens} tok",
                f"${r.spent_usd}" if money else f"{r.spent_tokens} tok",
                f"${r.reserved_usd}" if money else f"{r.reserved_tokens} tok",
                str(r.open_reservations),
                f"${r.remaining_usd}" if money else f"{r.remaining_tokens} tok",
                r.resets_at.isoformat(timespec="minutes") if r.resets_at else "-",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0
