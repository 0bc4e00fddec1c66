"""``tokenomy tokens FILE``: the estimated prompt tokens of one request body, as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run"]

_DESCRIPTION = """\
Read one request body, as sent on the wire, and print its prompt tokens counted offline:
{"prompt_tokens", "estimated", "encoding", "method", "model", "format"}.
FILE is a JSON object: an OpenAI chat body {"model", "messages"}, an OpenAI Responses body
{"model", "input"} or an Anthropic messages body {"model", "max_tokens", "messages"}.
Use - for standard input. OpenAI requests on plain text are exact ("estimated": false);
tools, images, schemas and Anthropic requests are estimates, "method" says why.
Exit codes: 0 printed, 2 the input cannot be read or is not a request body.
"""


def register(subparsers: Any) -> None:
    """Add the ``tokens`` command."""
    parser = subparsers.add_parser(
        "tokens",
        help="prompt tokens of one request body (OpenAI chat/Responses, Anthropic), offline",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the request body file, or - for stdin")
    parser.add_argument(
        "--provider",
        help="provider label (openai, azure, anthropic, bedrock); settles chat vs Anthropic",
    )
    parser.add_argument(
        "--indent", type=int, default=2, help="JSON indent (default 2; 0: one line)"
    )
    parser.set_defaults(func=run)


def _fail(source: str, reason: str) -> int:
    print(f"tokenomy tokens: cannot read {source}: {reason}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Print the JSON; 2 with a message on stderr when the input cannot be read."""
    from tokenomy.exceptions import TokenomyError
    from tokenomy.tokens import estimate_request, request_format
    from tokenomy.tokens._estimate import EXPECTED_BODY

    source = "standard input" if args.file == "-" else args.file
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        return _fail(source, exc.strerror or str(exc))
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _fail(source, f"not JSON ({exc}); expected {EXPECTED_BODY}")
    if not isinstance(body, dict):
        return _fail(source, f"a JSON {type(body).__name__}, expected {EXPECTED_BODY}")
    try:
        fmt = request_format(body, provider=args.provider)
        estimate = estimate_request(body, provider=args.provider)
    except TokenomyError as exc:
        return _fail(source, str(exc))
    doc = {
        "prompt_tokens": estimate.prompt_tokens,
        "estimated": estimate.estimated,
        "encoding": estimate.encoding,
        "method": estimate.method,
        "model": body.get("model"),
        "format": fmt,
    }
    print(json.dumps(doc, indent=args.indent or None))
    return 0
