"""``tokenomy cost FILE``: the usage and price of one raw provider response, as JSON."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

__all__ = ["register", "run"]

_DESCRIPTION = """\
Read one raw provider response and print its normalised usage and cost as JSON.
FILE is a JSON body (OpenAI chat completion or Responses, Anthropic message, Gemini,
Bedrock Converse), or a streamed response as recorded: SSE text or a JSON list of
chunks/events. Use - for standard input. The format is told by the body's shape.
Exit codes: 0 printed (also when the model has no known price: cost is null and a
warning goes to stderr), 1 no price and strict pricing (TOKENOMY_STRICT_PRICES=1),
2 the input cannot be read.
"""


def register(subparsers: Any) -> None:
    """Add the ``cost`` command."""
    parser = subparsers.add_parser(
        "cost",
        help="usage and cost of one raw provider response (JSON body or recorded stream)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the response file, or - for stdin")
    parser.add_argument(
        "--provider",
        help="provider label (e.g. azure, bedrock, openrouter); kept when it fits the body",
    )
    parser.add_argument(
        "--model", help="price as this model (needed for Bedrock Converse bodies, which name none)"
    )
    parser.add_argument(
        "--indent", type=int, default=2, help="JSON indent (default 2; 0: one line)"
    )
    parser.set_defaults(func=run)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def run(args: argparse.Namespace) -> int:
    """Print the JSON; 2 with a message on stderr when the input cannot be read."""
    from tokenomy._response import cost_of_response
    from tokenomy.exceptions import (
        TokenomyError,
        UnknownModelPriceError,
        UnknownModelPriceWarning,
    )

    try:
        body = _read(args.file)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"tokenomy cost: cannot read {args.file}: {reason}", file=sys.stderr)
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownModelPriceWarning)
        try:
            result = cost_of_response(body, provider=args.provider, model=args.model)
        except UnknownModelPriceError as exc:  # a strict price book (TOKENOMY_STRICT_PRICES=1)
            print(f"tokenomy cost: {exc}", file=sys.stderr)
            return 1
        except TokenomyError as exc:
            source = "standard input" if args.file == "-" else args.file
            print(f"tokenomy cost: cannot read {source}: {exc}", file=sys.stderr)
            return 2
    messages = [str(w.message) for w in caught if issubclass(w.category, UnknownModelPriceWarning)]
    if not result.priced and not messages:
        messages = [f"No price known for model {result.model!r}: cost is null."]
    for message in dict.fromkeys(messages):
        print(f"tokenomy cost: warning: {message}", file=sys.stderr)
    for w in caught:
        if not issubclass(w.category, UnknownModelPriceWarning):
            print(f"tokenomy cost: warning: {w.message}", file=sys.stderr)
    indent = args.indent if args.indent and args.indent > 0 else None
    sys.stdout.write(json.dumps(result.to_dict(), indent=indent) + "\n")
    return 0
