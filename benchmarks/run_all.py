"""Run every benchmark and print one table each (`./dev bench`).

Each benchmark module has ``run() -> list[dict]``; its rows compare tokenomy against the anchor
named in the row, measured in the same run on this machine. ``./dev bench NAME`` runs one.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import print_table

BENCHMARKS = {
    "import": ("bench_import", "import tokenomy vs import litellm (goal <= 0.1x)"),
    "pricing": ("bench_pricing", "Pricing one call: tokenomy vs litellm.cost_per_token (goal <= 0.1x)"),
    "ledger": ("bench_ledger", "Recording one call into the SQLite ledger, amortised (goal < 20 us)"),
    "langchain": (
        "bench_langchain_handler",
        "LangChain handler overhead per call vs UsageMetadataCallbackHandler (goal <= 1.5x) / get_openai_callback",
    ),
    "budget": (
        "bench_budget",
        "Budget stores: reserve + settle per second vs one Redis INCRBYFLOAT round trip",
    ),
    "llamaindex": (
        "bench_llamaindex_handler",
        "LlamaIndex handler overhead per call vs TokenCountingHandler (goal <= 3x)",
    ),
    "memory": ("bench_memory", "Conversation memory: session cost and history reads"),
    "resilience": ("bench_resilience", "A simulated day: wasted failed requests, naive retries vs tokenomy.Retry (goal >= 75% fewer)"),
    "prompt_cache": (
        "bench_prompt_cache",
        "Prompt-cache placement on a replayed workload: input cost, none / naive / policy (goal: policy lowest, >= 60% below none)",
    ),
    "rag": (
        "bench_rag",
        "RAG chunk budgeting on SQuAD: gold retention at B vs naive top-k at 2B; chunks/s",
    ),
}


def _missed(row: dict[str, object]) -> bool:
    """A row that says it missed its goal (column ``met`` or ``meets_goal``)."""
    verdict = row.get("met", row.get("meets_goal", "yes"))
    return str(verdict).strip().lower() in ("no", "false")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}", file=sys.stderr)
        return 2
    missed = []
    for name in names:
        module_name, title = BENCHMARKS[name]
        module = importlib.import_module(module_name)
        # a module with tables() prints several tables of different columns
        tables = module.tables() if hasattr(module, "tables") else [(title, module.run())]
        for table_title, rows in tables:
            print_table(table_title, rows)
            missed += [r for r in rows if _missed(r)]
    if missed:
        print(f"{len(missed)} row(s) missed their goal", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
