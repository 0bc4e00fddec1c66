"""``tokenomy demo``: a small support assistant, fully offline, with a cost report per run.

What runs (no API key, no network: the provider simulator answers on 127.0.0.1): each installed
integration's half of the demo, found through the ``tokenomy.demo`` entry points (the core
never imports a framework):

* LangChain (``tokenomy_langchain._demo``): an LCEL RAG chain over the Northwind handbook (this
  package's ``docs``) with the real ``langchain-openai`` clients, for several users; a streamed
  answer; a handbook assistant whose long system prompt gets provider-cached on repeat calls; a
  ticket-triage step on a reasoning model through the Responses API; an FAQ bot behind
  LangChain's LLM cache (a hit costs $0 and is reported as saved); a help desk behind
  tokenomy's response cache (repeats and rewordings served for $0, tenants kept apart).
* LlamaIndex (``tokenomy_llamaindex._demo``): a ``VectorStoreIndex`` query engine over the same
  documents with the real ``llama-index-llms-openai`` / ``OpenAIEmbedding`` clients, one query
  streamed, and a repeated question answered by tokenomy's response cache.

Every call is priced from the bundled price snapshot, tagged with user and feature, written to
a SQLite ledger in the current folder (``.tokenomy/demo.sqlite``, or ``--ledger PATH``) and
summarised in the report printed at the end. A file already at that path is replaced only when
it is an earlier demo ledger (or with ``--force``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["DEMO_APP", "DOCS", "SUPPORT_POLICY", "answer_rule", "main"]

#: The handbook the demo's assistant answers from (shipped inside the package).
DOCS: tuple[Path, ...] = tuple(sorted((Path(__file__).resolve().parent / "docs").glob("*.md")))
#: The ``app`` tag of every demo call (how an earlier demo ledger is recognised).
DEMO_APP = "northwind-support"

SUPPORT_POLICY = """You are Northwind Cloud Storage's support assistant. Answer from the handbook
excerpts you are given; if they do not contain the answer, say so and suggest contacting support.
Quote plan names and limits exactly as the handbook states them. Keep answers under 120 words."""

# Each half: an integration's ``run(sim_url, docs, policy)``, and what to install without it.
_HALVES = (
    ("langchain", "LangChain", "pip install 'tokenomy-langchain[demo]'"),
    ("llamaindex", "LlamaIndex", "pip install 'tokenomy-llamaindex[demo]'"),
)


def answer_rule(request: object) -> str:
    """The simulated model's deterministic answer: the first handbook sentence that shares the
    most words with the question (a stand-in for a real model, good enough to read)."""
    from tokenomy.testing import SimRequest

    assert isinstance(request, SimRequest)
    question = (request.last_user_text or "").lower()
    words = {w.strip("?.,") for w in question.split() if len(w) > 3}
    best, score = "I could not find that in the handbook; please contact support.", 0
    for doc in DOCS:
        for sentence in doc.read_text().replace("\n", " ").split(". "):
            hits = sum(1 for w in words if w in sentence.lower())
            if hits > score:
                best, score = sentence.strip().rstrip(".") + ".", hits
    return best


def _halves() -> list[tuple[str, Callable[..., None] | None, str]]:
    """(label, run or None, the install hint) for each half, loaded from its entry point."""
    from importlib.metadata import entry_points

    found = {ep.name: ep for ep in entry_points(group="tokenomy.demo")}
    out: list[tuple[str, Callable[..., None] | None, str]] = []
    for name, label, hint in _HALVES:
        ep = found.get(name)
        run = None
        if ep is not None:
            try:
                run = ep.load()
            except ImportError:
                run = None
        out.append((label, run, hint))
    return out


def _earlier_demo(path: Path) -> bool:
    """True when ``path`` is a ledger every record of which the demo wrote."""
    from tokenomy.exceptions import TokenomyError
    from tokenomy.ledger import RecordFilter, SQLiteLedger

    try:
        with SQLiteLedger(path, read_only=True) as store:
            total = store.count()
            return total > 0 and store.count(RecordFilter(tags={"app": DEMO_APP})) == total
    except TokenomyError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; see the module docstring. Exit codes as every command's."""
    from tokenomy.cli._common import EXIT_INPUT, EXIT_REFUSED

    parser = argparse.ArgumentParser(prog="tokenomy demo", description=__doc__)
    parser.add_argument("--ledger", default=str(Path(".tokenomy") / "demo.sqlite"))
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--force", action="store_true", help="replace a file at --ledger")
    parser.add_argument(
        "--review",
        default=None,
        metavar="FILE",
        help="where to write the HTML cost review (default: review.html beside the ledger)",
    )
    args = parser.parse_args(argv)

    ledger_path = Path(args.ledger)
    if ledger_path.exists() and not args.force and not (
        ledger_path.stat().st_size == 0 or _earlier_demo(ledger_path)
    ):
        print(
            f"tokenomy demo: error: refusing to replace {ledger_path}: it is not an earlier demo "
            f"ledger (pass --force to replace it, or choose another --ledger)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    halves = _halves()
    if not any(run for _, run, _ in halves):
        hints = " and ".join(hint for _, _, hint in halves)
        print(
            f"tokenomy demo: error: no framework to run the demo with: {hints}", file=sys.stderr
        )
        return EXIT_INPUT
    return _run(args, ledger_path, halves)


def _run(args: argparse.Namespace, ledger_path: Path, halves: list[Any]) -> int:
    import tokenomy
    from tokenomy.testing import ProviderSimulator

    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(ledger_path) + suffix).unlink(missing_ok=True)
    ledger = tokenomy.SQLiteLedger(ledger_path)
    previous = tokenomy.set_default_ledger(ledger)
    try:
        with ProviderSimulator(
            answer=answer_rule,
            reasoning_tokens={"gpt-5*": 96},
            model_aliases={"gpt-4o-mini": "gpt-4o-mini-2024-07-18"},
        ) as sim:
            with tokenomy.track(app=DEMO_APP):
                for label, run, hint in halves:
                    if run is None:
                        print(f"(skipping the {label} half: {hint})", file=sys.stderr)
                        continue
                    run(sim.openai_base_url, DOCS, SUPPORT_POLICY)
            simulated_calls = len(sim.calls)
        ledger.flush()
        _print(args, ledger, ledger_path, simulated_calls)
        _write_review(args, ledger, ledger_path)
    finally:
        tokenomy.set_default_ledger(previous)
        ledger.close()
    return 0


def _write_review(args: argparse.Namespace, ledger: Any, ledger_path: Path) -> None:
    """End with the HTML cost review of the demo's ledger (``tokenomy review``), and say where
    it is. A file there that is not an earlier review is kept (unless ``--force``)."""
    from tokenomy.cli._review import MARKER, write_review_html

    path = Path(args.review) if args.review else ledger_path.parent / "review.html"
    if (
        path.exists()
        and not args.force
        and path.read_text("utf-8", errors="replace")[: len(MARKER)] != MARKER
    ):
        print(
            f"tokenomy demo: not writing the review: {path} exists and is not an earlier "
            f"review (pass --force, or --review FILE)",
            file=sys.stderr,
        )
        return
    try:
        from tokenomy.review import build_review

        review = build_review(ledger)
        write_review_html(review, path)
    except ImportError as exc:  # the review extra is missing
        print(f"tokenomy demo: no HTML review ({exc})", file=sys.stderr)
        return
    stream = sys.stderr if args.format == "json" else sys.stdout
    print(
        f"Cost review with charts, recommendations and the forecast: {path.resolve()} "
        f"(open it in a browser; it needs no network). Next: tokenomy review --ledger "
        f"{ledger_path}",
        file=stream,
    )


def _print(args: argparse.Namespace, ledger: Any, ledger_path: Path, simulated: int) -> None:
    import tokenomy
    from tokenomy.ledger import RecordFilter

    report = tokenomy.Report.from_ledger(ledger)
    if args.format == "json":
        print(report.to_json(by=("feature",)))
        return
    from rich.console import Console

    console = Console()
    if console.width < 150:
        console = Console(width=150)
    report.render(console, by=("feature", "user"), runs=6, top=5)
    hits = ledger.count(RecordFilter(cache_hit=True))
    from tokenomy._demo._rag import rag_savings

    console.print(rag_savings(ledger.iter_records()))
    console.print(
        f"\n[bold]{len(report)}[/bold] calls recorded, {hits} of them cache hits (LangChain's "
        f"LLM cache and tokenomy's response cache: $0 spent, the cost saved above); the "
        f"provider simulator answered {simulated} requests (LangChain's embedding calls "
        f"have no callbacks, so they are not in the ledger). Ledger: [cyan]{ledger_path}[/cyan]\n"
        f"Next: [green]tokenomy report --ledger {ledger_path} --by user[/green]  ·  "
        f"[green]tokenomy export --ledger {ledger_path}[/green]"
    )
