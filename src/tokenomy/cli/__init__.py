"""The ``tokenomy`` command line: one module per command group, each with ``register()``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main"]

# Each module defines ``register(subparsers) -> None`` adding its command, named as the module
# without its underscore (pinned by a test); the parser it adds sets ``func`` (a callable
# taking the parsed args and returning an exit code).
_COMMAND_MODULES = (
    "_cost", "_tokens", "_export", "_report", "_simulate", "_prices", "_memory", "_budget",
    "_route", "_rag", "_review", "_cache", "_demo",
)  # fmt: skip


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser with every command group registered, or only ``command``'s when
    it names one (what :func:`main` does when the command line starts with a command: the
    other twelve modules are not imported, nor their parsers built)."""
    from tokenomy.cli._common import EXIT_CODES

    parser = argparse.ArgumentParser(
        prog="tokenomy",
        description="Count, attribute and report what LLM calls cost.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    names: tuple[str, ...] = _COMMAND_MODULES
    if command is not None and f"_{command}" in names:
        names = (f"_{command}",)
    for name in names:
        try:
            module = importlib.import_module(f"tokenomy.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tokenomy.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def _version() -> str:
    from tokenomy import __version__

    return f"tokenomy {__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["demo"]:  # the demo parses its own options
        from tokenomy._demo import main as demo

        return demo(args_list[1:])
    parser = build_parser(args_list[0] if args_list else None)
    args = parser.parse_args(args_list)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except BrokenPipeError:  # pragma: no cover - e.g. piping into head
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
