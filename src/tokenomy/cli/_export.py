"""``tokenomy export``: a ledger's records as JSON Lines."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from tokenomy.cli._common import (
    CommandError,
    add_ledger_arguments,
    fail,
    ledger_spec,
    open_ledger_for_reading,
    record_filter,
)

__all__ = ["register", "run"]

_DESCRIPTION = """\
Write the records of a ledger as JSON Lines, oldest first: one CostRecord per line with
usage {input, output, cache_read, cache_write_5m, cache_write_1h, reasoning}, cost
{total, <dimension>...} as exact decimal strings (null when the model has no known price),
priced, estimated, model, provider, tags, run ids, cache, latency_ms, ...
The ledger is --ledger, else $TOKENOMY_LEDGER. Exit codes: 0 written (also when nothing
matched), 1 the ledger could not be read, 2 bad arguments or no such ledger.
"""


def register(subparsers: Any) -> None:
    """Add the ``export`` command."""
    parser = subparsers.add_parser(
        "export",
        help="write ledger records as JSON Lines (one CostRecord per line)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_ledger_arguments(parser)
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE instead of standard output"
    )
    parser.set_defaults(func=run)


def _write_lines(records: list[Any], out: IO[bytes]) -> None:
    for record in records:
        line = json.dumps(record.to_json_dict(), ensure_ascii=False, separators=(",", ":"))
        out.write(line.encode("utf-8") + b"\n")


def run(args: argparse.Namespace) -> int:
    """Export the matching records; see the command description for exit codes."""
    try:
        where = record_filter(args)
        spec = ledger_spec(args)
        store = open_ledger_for_reading(spec)
    except CommandError as exc:
        return fail("tokenomy export", exc)
    from tokenomy.exceptions import LedgerError

    try:
        records = store.query(where)
    except LedgerError as exc:
        return fail("tokenomy export", CommandError(str(exc), exit_code=1))
    finally:
        store.close()
    if args.output and args.output != "-":
        target = Path(args.output)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as f:
                _write_lines(records, f)
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            return fail("tokenomy export", CommandError(f"cannot write {target}: {exc}", 1))
        print(f"exported {len(records)} record(s) to {target}", file=sys.stderr)
        return 0
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # pragma: no cover - a text-only stdout replacement
        for record in records:
            sys.stdout.write(json.dumps(record.to_json_dict(), ensure_ascii=False) + "\n")
    else:
        sys.stdout.flush()
        _write_lines(records, out)
        out.flush()
    return 0
