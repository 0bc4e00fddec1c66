"""``tokenomy export``: a ledger's records as JSON Lines."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

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

__all__ = ["register", "run"]

_DESCRIPTION = """\
Write the records of a ledger as JSON Lines, oldest first: one CostRecord per line with
usage {input, output, cache_read, cache_write_5m, cache_write_1h, reasoning}, cost
{total, <dimension>...} as exact decimal strings (null when the model has no known price),
priced, estimated, model, provider, tags, run ids, cache, latency_ms, ...
The ledger is --ledger, else $TOKENOMY_LEDGER; it is only read. Records are streamed (constant
memory). -o FILE never replaces an existing file unless --force, and never the ledger itself.
"""


def register(subparsers: Any) -> None:
    """Add the ``export`` command."""
    parser = subparsers.add_parser(
        "export",
        help="write ledger records as JSON Lines (one CostRecord per line)",
        description=_DESCRIPTION + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_ledger_arguments(parser)
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE instead of standard output"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace FILE if it exists (never the ledger)"
    )
    parser.set_defaults(func=run)


def _write_lines(records: Iterable[Any], out: IO[bytes]) -> int:
    n = 0
    for record in records:
        line = json.dumps(record.to_json_dict(), ensure_ascii=False, separators=(",", ":"))
        out.write(line.encode("utf-8") + b"\n")
        n += 1
    return n


def _ledger_files(spec: str) -> list[Path]:
    """The files of a SQLite ledger (with its -wal and -shm), none for other ledgers."""
    from tokenomy.ledger._open import sqlite_path

    path = sqlite_path(spec)
    if path is None:
        return []
    base = Path(path).expanduser()
    return [base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm")]


def check_output(target: Path, spec: str, *, force: bool) -> None:
    """Raise CommandError (exit 3) when writing ``target`` would destroy data: it is the
    ledger being read (or one of its files), or it exists and ``force`` is not set."""
    for f in _ledger_files(spec):
        same = target.resolve() == f.resolve()
        if not same and target.exists() and f.exists():
            same = os.path.samefile(target, f)
        if same:
            raise CommandError(
                f"refusing to write to {target}: it is the ledger being read (choose another "
                f"-o FILE)",
                exit_code=EXIT_REFUSED,
            )
    if target.exists() and not force:
        raise CommandError(
            f"refusing to replace {target}: it exists (pass --force to replace it, or choose "
            f"another -o FILE)",
            exit_code=EXIT_REFUSED,
        )


def run(args: argparse.Namespace) -> int:
    """Export the matching records; see the command description for exit codes."""
    target = Path(args.output) if args.output and args.output != "-" else None
    try:
        where = record_filter(args)
        spec = ledger_spec(args)
        if target is not None:
            check_output(target, spec, force=args.force)
        store = open_ledger_for_reading(spec)
    except CommandError as exc:
        return fail("tokenomy export", exc)
    from tokenomy.exceptions import TokenomyError

    try:
        records = store.iter_records(where)
        if target is not None:
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            try:
                with tmp.open("wb") as f:
                    n = _write_lines(records, f)
                tmp.replace(target)
            except OSError as exc:
                return fail("tokenomy export", CommandError(f"cannot write {target}: {exc}"))
            finally:
                tmp.unlink(missing_ok=True)
            print(f"exported {n} record(s) to {target}", file=sys.stderr)
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
    except TokenomyError as exc:
        return fail("tokenomy export", CommandError(str(exc)))
    finally:
        store.close()
