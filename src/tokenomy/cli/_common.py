"""Options shared by the commands that read a ledger (``export``, ``report``).

``--ledger`` (default: ``TOKENOMY_LEDGER``), ``--since``/``--until`` (ISO 8601 or a duration
ago such as ``90m``, ``1h``, ``7d``, ``2w``), ``--where tag=value`` (repeatable), ``--model``
and ``--provider`` (repeatable). Use :func:`add_ledger_arguments` on a sub-parser, then
:func:`record_filter` and :func:`open_ledger_for_reading` on the parsed arguments; both raise
:class:`CommandError`, whose ``exit_code`` the command returns after printing the message.
"""

from __future__ import annotations

import argparse
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy.ledger import LedgerStore, RecordFilter

__all__ = [
    "EXIT_CODES",
    "EXIT_INPUT",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_UNPRICED",
    "CommandError",
    "add_ledger_arguments",
    "fail",
    "ledger_spec",
    "open_ledger_for_reading",
    "parse_tag",
    "parse_time",
    "record_filter",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


#: Every command's exit codes have these meanings, and only these.
EXIT_OK = 0
#: Done, but a model has no known price (``prices``; ``cost`` with strict pricing).
EXIT_UNPRICED = 1
#: The input cannot be used: bad arguments, a missing, damaged, truncated or foreign file or
#: ledger, an unreachable server, a port in use. Nothing was written.
EXIT_INPUT = 2
#: Refused to destroy data: the output exists (``--force`` to replace it) or is the ledger
#: being read. Nothing was written.
EXIT_REFUSED = 3
EXIT_CODES = f"""\
Exit codes (the same for every command):
  {EXIT_OK}  done
  {EXIT_UNPRICED}  done, but a model has no known price (prices; cost with strict pricing)
  {EXIT_INPUT}  the input cannot be used (bad arguments; a missing, damaged, truncated or foreign
     file or ledger; an unreachable server); nothing was written
  {EXIT_REFUSED}  refused: the output file exists (--force replaces it) or is the ledger being
     read; nothing was written
"""


class CommandError(Exception):
    """A command cannot go on: ``message`` for stderr, ``exit_code`` to return (see
    :data:`EXIT_CODES`; default :data:`EXIT_INPUT`)."""

    def __init__(self, message: str, exit_code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """An aware UTC datetime from ISO 8601 (``2025-03-01``, ``2025-03-01T12:00Z``, ...) or a
    duration before ``now`` (``30s``, ``90m``, ``1h``, ``7d``, ``2w``); no zone means UTC."""
    m = _DURATION.match(text)
    if m:
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]
        return (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    raw = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            d = date.fromisoformat(raw)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an ISO 8601 time (2025-03-01, 2025-03-01T12:00:00Z) nor a "
            f"duration ago (30s, 90m, 1h, 7d, 2w)"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def parse_tag(text: str) -> tuple[str, str]:
    """``"key=value"`` as ``(key, value)``; the value may itself contain ``=``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{text!r} is not tag=value (for example --where feature=search)")
    return key.strip(), value


def _time_arg(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _tag_arg(text: str) -> tuple[str, str]:
    try:
        return parse_tag(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_ledger_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--ledger`` and the record filter options to ``parser``."""
    parser.add_argument(
        "--ledger",
        metavar="LEDGER",
        help="the ledger: a SQLite path, sqlite:///path or postgresql://... "
        "(default: $TOKENOMY_LEDGER)",
    )
    parser.add_argument(
        "--since",
        type=_time_arg,
        metavar="TIME",
        help="only calls at or after TIME: ISO 8601 (no zone = UTC) or a duration ago (1h, 7d)",
    )
    parser.add_argument(
        "--until", type=_time_arg, metavar="TIME", help="only calls before TIME (same forms)"
    )
    parser.add_argument(
        "--where",
        type=_tag_arg,
        action="append",
        default=[],
        metavar="TAG=VALUE",
        help="only calls with this tag value (repeat to require several)",
    )
    parser.add_argument(
        "--model", action="append", default=[], metavar="MODEL", help="only this model (repeatable)"
    )
    parser.add_argument(
        "--provider",
        action="append",
        default=[],
        metavar="PROVIDER",
        help="only this provider (repeatable)",
    )


def record_filter(args: argparse.Namespace) -> RecordFilter | None:
    """The :class:`RecordFilter` the parsed options ask for (``None``: everything)."""
    from tokenomy.ledger import RecordFilter

    tags: dict[str, str] = {}
    for key, value in getattr(args, "where", None) or []:
        if key in tags and tags[key] != value:
            raise CommandError(
                f"--where {key}={tags[key]} and --where {key}={value} cannot both hold; "
                f"give one value per tag"
            )
        tags[key] = value
    since, until = getattr(args, "since", None), getattr(args, "until", None)
    if since is not None and until is not None and since >= until:
        raise CommandError(
            f"--since {since.isoformat()} is not before --until {until.isoformat()}: "
            f"no call can match"
        )
    models = getattr(args, "model", None) or None
    providers = getattr(args, "provider", None) or None
    if not (tags or since or until or models or providers):
        return None
    return RecordFilter(since=since, until=until, tags=tags, models=models, providers=providers)


def ledger_spec(args: argparse.Namespace) -> str:
    """``--ledger``, else ``TOKENOMY_LEDGER``; CommandError (exit 2) when neither is set."""
    from tokenomy.ledger import ENV_VAR

    spec = (getattr(args, "ledger", None) or os.environ.get(ENV_VAR, "")).strip()
    if not spec:
        raise CommandError(
            f"no ledger to read: pass --ledger PATH_OR_URL (a SQLite file or postgresql://...) "
            f"or set {ENV_VAR}"
        )
    return spec


def open_ledger_for_reading(spec: str) -> LedgerStore:
    """Open an existing ledger read-only: nothing is created, migrated or written (a SQLite
    path that does not exist is an error; an empty file reads as no records and stays empty)."""
    from tokenomy.exceptions import TokenomyError
    from tokenomy.ledger._open import open_ledger_read_only, sqlite_path

    try:
        path = sqlite_path(spec)
        if path is not None and not Path(path).expanduser().exists():
            raise CommandError(
                f"no ledger at {path}: the file does not exist (check --ledger or "
                f"TOKENOMY_LEDGER; a ledger file appears once calls are recorded to it)"
            )
        return open_ledger_read_only(spec)
    except TokenomyError as exc:
        raise CommandError(str(exc)) from exc


def fail(prog: str, error: CommandError, stream: Any = None) -> int:
    """Print ``prog: error: message`` on stderr and return the exit code."""
    import sys

    print(f"{prog}: error: {error.message}", file=stream or sys.stderr)
    return error.exit_code
