"""``tokenomy route calibrate`` / ``evaluate``: cascade routing on a labelled replay set (JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

__all__ = ["register", "run_calibrate", "run_evaluate", "run_report"]

_CALIBRATE = """\
Choose a cascade's gate (or, for rows without answer text such as MMLU's, a pre-router) on a
labelled replay set: the cheapest whose quality reaches --target-quality x the strongest
model's, on the calibration part of the rows (a seeded shuffle; the rest is held out for
evaluate). Each row: {"id", "prompt", "<key>": {"model", "response", "correct"}, ...}; the
first --tier is the cheap one. Prices per million tokens come from --tier KEY=IN/OUT, else
from the price book for the model named in the data. The gate is a weighted score of model-free
checks of the cheap answer (final number, arithmetic, the final number's consistency with the
work shown, the answer line, grounded operands, steps shown, ...), its threshold chosen on
out-of-fold chances with a safety --margin; the printed "calibration" block holds the figures
on the calibration rows and the out-of-fold estimate ("cross_validated") for unseen rows.
Writes CONFIG (--force to replace a file that exists) and prints it. Exit codes: 0 written,
2 bad input.
"""

_EVALUATE = """\
Replay the recorded answers through the real cascade code (no provider calls) with CONFIG's
gate (or pre-router) and print JSON: cost, quality, escalation rate, calls and cost per tier,
and the same for always-cheap, always-strong and the oracle router. --part held-out (default,
when CONFIG records its calibration split) evaluates only rows calibration never saw.
"""


def register(subparsers: Any) -> None:
    """Add the ``route`` command group."""
    parser = subparsers.add_parser("route", help="calibrate and evaluate cascade routing")
    sub = parser.add_subparsers(dest="route_command", metavar="SUBCOMMAND")
    cal = sub.add_parser(
        "calibrate", help="choose gates and thresholds (JSON config)", description=_CALIBRATE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cal.add_argument("--data", required=True, metavar="FILE", help="replay JSONL")
    cal.add_argument("--target-quality", type=float, required=True, metavar="Q")
    cal.add_argument("--out", required=True, metavar="CONFIG", help="config file to write")
    cal.add_argument(
        "--tier", action="append", default=[], metavar="KEY=IN/OUT",
        help="a tier (row key) and its USD per million input/output tokens, cheapest first",
    )
    cal.add_argument("--holdout", type=float, default=0.5, help="share held out (default 0.5)")
    cal.add_argument("--seed", type=int, default=0, help="shuffle seed (default 0)")
    cal.add_argument(
        "--margin", type=float, default=None, metavar="SHARE",
        help="share of rows added to the quality target (default: half a standard error)",
    )
    cal.add_argument("--pre-route", action="store_true", help="calibrate a pre-router only")
    cal.add_argument("--force", action="store_true", help="replace CONFIG if it exists")
    cal.set_defaults(func=run_calibrate)
    ev = sub.add_parser(
        "evaluate", help="replay through a config (JSON)", description=_EVALUATE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ev.add_argument("--data", required=True, metavar="FILE", help="replay JSONL")
    ev.add_argument("--config", required=True, metavar="CONFIG")
    ev.add_argument("--part", choices=("held-out", "calibration", "all"), default=None)
    ev.add_argument("--indent", type=int, default=2, help="JSON indent (0: one line)")
    ev.set_defaults(func=run_evaluate)
    from tokenomy.cli._common import add_ledger_arguments

    rep = sub.add_parser(
        "report",
        help="escalation rate and cost per tier of the routed calls in a ledger (JSON)",
        description="Read the routed calls (records tagged route_tier by a Cascade) of a "
        "ledger and print JSON: calls, attempts, escalation rate, cost, cost per call (per "
        "usable output), attempts, answers and cost per tier. Reads only.",
    )
    add_ledger_arguments(rep)
    rep.add_argument("--indent", type=int, default=2, help="JSON indent (0: one line)")
    rep.set_defaults(func=run_report)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


class _BadInputError(Exception):
    pass


def _tiers(specs: list[str], rows: list[Any]) -> list[dict[str, Any]]:
    keys = list(rows[0].models) if rows else []
    given: dict[str, tuple[str, str]] = {}
    order: list[str] = []
    for spec in specs:
        key, _, prices = spec.partition("=")
        inp, _, out = prices.partition("/")
        try:
            Decimal(inp)
            Decimal(out)
        except InvalidOperation:
            raise _BadInputError(f"--tier {spec!r}: use KEY=IN/OUT (USD per million tokens)") from None
        given[key] = (inp, out)
        order.append(key)
    order = order or keys
    tiers = []
    for key in order:
        if rows and key not in rows[0].models:
            raise _BadInputError(f"--tier {key!r}: the data has no such model key (it has {keys})")
        model = rows[0].models[key] if rows else key
        if key in given:
            inp, out = given[key]
        else:
            inp, out = _book_prices(model, key)
        tiers.append({"key": key, "model": model,
                      "price_per_million": {"input": inp, "output": out}})
    if len(tiers) < 2:
        raise _BadInputError("two or more tiers are needed (--tier cheap=IN/OUT --tier strong=IN/OUT)")
    return tiers


def _book_prices(model: str, key: str) -> tuple[str, str]:
    from tokenomy.pricing import get_price_book

    price = get_price_book().lookup(model)
    if price is None:
        raise _BadInputError(f"no price for {model!r}: pass --tier {key}=IN/OUT (USD per million tokens)")
    million = Decimal(1_000_000)
    return str((price.input * million).normalize()), str((price.output * million).normalize())


def _fail(command: str, message: str) -> int:
    print(f"tokenomy route {command}: {message}", file=sys.stderr)
    return 2


def run_calibrate(args: argparse.Namespace) -> int:
    """``tokenomy route calibrate``."""
    from tokenomy.exceptions import ConfigurationError
    from tokenomy.routing import calibrate, calibrate_prerouter, load_replay, split_rows

    out = Path(args.out)
    if out.exists() and not args.force:
        return _fail("calibrate", f"{out} exists: pass --force to replace it")
    if not 0.0 <= args.holdout < 1.0:
        return _fail("calibrate", f"--holdout must be in [0, 1), got {args.holdout}")
    if args.margin is not None and not 0.0 <= args.margin < 1.0:
        return _fail("calibrate", f"--margin must be in [0, 1), got {args.margin}")
    try:
        rows = load_replay(args.data)
        if not rows:
            raise _BadInputError(f"{args.data} has no rows")
        tiers = _tiers(args.tier, rows)
        part, _ = split_rows(rows, fraction=1.0 - args.holdout, seed=args.seed)
        no_text = any(r.answers.get(tiers[0]["key"]) is None for r in part)
        if args.pre_route or no_text:
            config = calibrate_prerouter(part, target=args.target_quality, tiers=tiers,
                                         seed=args.seed, margin=args.margin)
        else:
            config = calibrate(part, target=args.target_quality, tiers=tiers,
                               seed=args.seed, margin=args.margin)
    except (OSError, ConfigurationError, _BadInputError) as exc:
        return _fail("calibrate", str(exc))
    config["split"] = {"calibration_fraction": 1.0 - args.holdout, "seed": args.seed,
                       "data": str(args.data)}
    text = json.dumps(config, indent=2)
    out.write_text(text + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in config.items() if k != "pre_router"}
                     | {"pre_router": _short(config.get("pre_router"))}, indent=2))
    return 0


def _short(router: Any) -> Any:
    if isinstance(router, dict) and "weights" in router:
        return {k: v for k, v in router.items() if k != "weights"} | {
            "weights": f"{len(router['weights'])} values"}
    return router


def run_evaluate(args: argparse.Namespace) -> int:
    """``tokenomy route evaluate``."""
    from tokenomy.exceptions import ConfigurationError
    from tokenomy.routing import evaluate_prerouter, evaluate_replay, load_replay, split_rows

    try:
        config = json.loads(Path(args.config).read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise _BadInputError(f"{args.config} is not a JSON object")
        rows = load_replay(args.data)
        split = config.get("split") or {}
        part = args.part or ("held-out" if split else "all")
        if part != "all":
            if not split:
                raise _BadInputError(f"{args.config} records no calibration split: use --part all")
            cal, held = split_rows(rows, fraction=float(split["calibration_fraction"]),
                                   seed=int(split["seed"]))
            rows = held if part == "held-out" else cal
        if not rows:
            raise _BadInputError("no rows to evaluate")
        cheap = config["tiers"][0].get("key") or config["tiers"][0]["model"]
        if config.get("gate") is None and config.get("pre_router") and any(
            r.answers.get(cheap) is None for r in rows
        ):
            result = evaluate_prerouter(rows, config)
        else:
            result = evaluate_replay(rows, config)
    except (OSError, ValueError, KeyError, ConfigurationError, _BadInputError) as exc:
        return _fail("evaluate", str(exc))
    result = {"data": str(args.data), "part": part, **result}
    print(json.dumps(result, indent=args.indent or None))
    return 0


def run_report(args: argparse.Namespace) -> int:
    """``tokenomy route report``."""
    from tokenomy.cli._common import (
        CommandError,
        fail,
        ledger_spec,
        open_ledger_for_reading,
        record_filter,
    )
    from tokenomy.routing import routing_summary

    try:
        where = record_filter(args)
        ledger = open_ledger_for_reading(ledger_spec(args))
    except CommandError as exc:
        return fail("tokenomy route report", exc)
    try:
        summary = routing_summary(ledger.query(where))
    finally:
        ledger.close()
    print(json.dumps(summary.to_dict(), indent=args.indent or None))
    return 0
