"""``tokenomy prices``: which snapshot is in use and what a model costs per million tokens."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from typing import Any

from tokenomy.cli._common import EXIT_CODES
from tokenomy.pricing._model import ModelPrice

_M = Decimal(1_000_000)


def register(sub: Any) -> None:
    """Add the ``prices`` command."""
    p = sub.add_parser(
        "prices",
        help="show the price snapshot and the USD per million tokens of models",
        description="Show the price snapshot in use and how model names resolve to prices.\n\n"
        + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="model names as you write them")
    p.add_argument("--provider", help="provider (azure, bedrock, vertex_ai, gemini, ...)")
    p.add_argument("--file", help="a TOML/JSON overrides file (default: TOKENOMY_PRICES)")
    p.set_defaults(func=_run)


def _per_million(v: Decimal | None) -> str | None:
    return None if v is None else format((v * _M).normalize(), "f")


def describe(price: ModelPrice) -> dict[str, Any]:
    """A JSON-ready view of a model's prices in USD per million tokens."""
    out: dict[str, Any] = {
        "mode": price.mode,
        "provider": price.provider,
        "source": price.source,
        "input": _per_million(price.input),
        "output": _per_million(price.output),
        "cache_read": _per_million(price.cache_read),
        "cache_write_5m": _per_million(price.cache_write_5m),
        "cache_write_1h": _per_million(price.cache_write_1h),
        "reasoning": _per_million(price.reasoning),
        "request": str(price.request) if price.request else None,
    }
    if price.context_tiers:
        out["context_tiers"] = [
            {"above_tokens": t.above, "input": _per_million(t.input), "output": _per_million(t.output)}
            for t in price.context_tiers
        ]
    if price.service_tiers:
        out["service_tiers"] = {
            name: {"input": _per_million(p.input), "output": _per_million(p.output)}
            for name, p in price.service_tiers.items()
        }
    return out


def _run(args: argparse.Namespace) -> int:
    from tokenomy.cli._common import EXIT_INPUT
    from tokenomy.exceptions import TokenomyError
    from tokenomy.pricing import PriceBook, get_price_book

    try:
        book = PriceBook.from_file(args.file) if args.file else get_price_book()
    except TokenomyError as exc:
        print(f"tokenomy prices: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    doc: dict[str, Any] = {"snapshot": book.snapshot.version, "models_priced": len(book)}
    status = 0
    if args.models:
        doc["models"] = {}
        for name in args.models:
            key = book.resolve(name, args.provider)
            price = None if key is None else book.lookup(name, args.provider)
            if price is None:
                status = 1
                doc["models"][name] = {"price_key": None, "priced": False}
            else:
                doc["models"][name] = {"price_key": key, "priced": True, "usd_per_million": describe(price)}
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return status
