"""``tokenomy demo``: the offline demo (``tokenomy/_demo``), from an installed package."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``demo`` command (its own options are parsed by the demo)."""
    parser = subparsers.add_parser(
        "demo",
        help="run the offline demo (LangChain and LlamaIndex against a local simulator)",
        add_help=False,
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo with the remaining arguments."""
    from tokenomy._demo import main

    return main(args.rest)
