"""Import times, each next to its floor measured in the same run.

Rows (ours vs anchor):

* ``import tokenomy`` vs ``import litellm``: goal, no more than 0.1x of litellm's import time;
* the first ``tokenomy.track()`` block (after ``import tokenomy``) vs ``import pydantic``, which
  that first use loads for ``CostRecord`` (reported, no goal: the record path owns it);
* ``import tokenomy_langchain`` (lazy: loads nothing), ``TokenomyCallbackHandler`` and the first
  ``tokenomy_langchain.track()`` vs the langchain_core modules each needs (the floor): goal, no
  more than 1.15x of the floor;
* ``import tokenomy_llamaindex`` (lazy) and ``track``/``TokenomyLLM`` vs ``import
  llama_index.core`` (every LlamaIndex module imports the whole ``llama_index.core`` package):
  the same goal.

Each measurement runs in a fresh interpreter; every repetition runs all of them in a fresh
random order (so a CPU that changes speed every few seconds hits all alike) and each keeps its
best (smallest) time, the one least disturbed. LITELLM_LOCAL_MODEL_COST_MAP=True makes litellm
read its bundled price map instead of the network. Only the part after ``# timed`` is timed.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

GOAL_LITELLM = 0.10
GOAL_FLOOR = 1.15

#: What the handler needs at import: the class it subclasses (langchain_core's subpackages
#: load their names lazily, so ``import langchain_core.outputs`` alone would load far less
#: than ``from langchain_core.outputs import LLMResult``; the handler names LLMResult for
#: type checking only).
LC_FLOOR = "from langchain_core.callbacks import BaseCallbackHandler"
#: ``track`` also needs the configure hook (whose module imports langsmith's client).
LC_TRACK_FLOOR = LC_FLOOR + "\nfrom langchain_core.tracers.context import register_configure_hook"


@dataclass(frozen=True)
class Snippet:
    """Code run in a fresh interpreter: ``setup`` untimed, then ``timed``."""

    timed: str
    setup: str = ""


SNIPPETS: dict[str, Snippet] = {
    "import tokenomy": Snippet("import tokenomy"),
    "import litellm": Snippet("import litellm"),
    "first tokenomy.track()": Snippet(
        "with tokenomy.track(feature='bench'):\n    pass", setup="import tokenomy"
    ),
    "import pydantic": Snippet("import pydantic"),
    "import tokenomy_langchain": Snippet("import tokenomy_langchain"),
    "TokenomyCallbackHandler": Snippet("from tokenomy_langchain import TokenomyCallbackHandler"),
    "first tokenomy_langchain.track()": Snippet(
        "import tokenomy_langchain\nwith tokenomy_langchain.track(feature='bench'):\n    pass"
    ),
    LC_FLOOR: Snippet(LC_FLOOR),
    LC_TRACK_FLOOR: Snippet(LC_TRACK_FLOOR),
    "import tokenomy_llamaindex": Snippet("import tokenomy_llamaindex"),
    "tokenomy_llamaindex track + TokenomyLLM": Snippet(
        "from tokenomy_llamaindex import TokenomyLLM, track"
    ),
    "import llama_index.core": Snippet("import llama_index.core"),
}

#: (case, anchor, goal or None): each row's ratio is best(case) / best(anchor).
ROWS: list[tuple[str, str, float | None]] = [
    ("import tokenomy", "import litellm", GOAL_LITELLM),
    ("first tokenomy.track()", "import pydantic", None),
    ("import tokenomy_langchain", LC_FLOOR, GOAL_FLOOR),
    ("TokenomyCallbackHandler", LC_FLOOR, GOAL_FLOOR),
    ("first tokenomy_langchain.track()", LC_TRACK_FLOOR, GOAL_FLOOR),
    ("import tokenomy_llamaindex", "import llama_index.core", GOAL_FLOOR),
    ("tokenomy_llamaindex track + TokenomyLLM", "import llama_index.core", GOAL_FLOOR),
]


def script(snippet: Snippet) -> str:
    """The program run for ``snippet``: prints the seconds its timed part took."""
    return (
        f"{snippet.setup}\n"
        "import time as _bench_time\n"
        "_bench_t0 = _bench_time.perf_counter()\n"
        f"# timed\n{snippet.timed}\n"
        "print(_bench_time.perf_counter() - _bench_t0)\n"
    )


def time_once(snippet: Snippet) -> float:
    """Seconds the timed part of ``snippet`` took in a fresh interpreter."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    out = subprocess.run(
        [sys.executable, "-c", script(snippet)], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def best_times(names: list[str], runs: int, seed: int = 0) -> dict[str, float]:
    """Best of ``runs`` per snippet, all interleaved in a fresh random order per repetition
    (after one untimed warm-up each, so no one pays the cold file cache)."""
    rng = random.Random(seed)
    for name in names:
        time_once(SNIPPETS[name])
    best = {name: float("inf") for name in names}
    order = list(names)
    for _ in range(runs):
        rng.shuffle(order)
        for name in order:
            best[name] = min(best[name], time_once(SNIPPETS[name]))
    return best


def run(runs: int = 5, rows: list[tuple[str, str, float | None]] | None = None) -> list[dict[str, Any]]:
    """One row per (case, anchor) of ``rows`` (default: all), measured in this run."""
    chosen = ROWS if rows is None else rows
    names = list(dict.fromkeys(name for case, anchor, _ in chosen for name in (case, anchor)))
    best = best_times(names, runs)
    out = []
    for case, anchor, goal in chosen:
        ratio = best[case] / best[anchor]
        out.append(
            {
                "benchmark": "import time",
                "case": case,
                "anchor": anchor,
                "ours_ms": f"{best[case] * 1e3:.1f}",
                "anchor_ms": f"{best[anchor] * 1e3:.1f}",
                "ratio": f"{ratio:.3f}x",
                "goal": "-" if goal is None else f"<= {goal}x",
                "met": "-" if goal is None else ("yes" if ratio <= goal else "NO"),
            }
        )
    return out


if __name__ == "__main__":
    from _table import print_table

    t0 = time.perf_counter()
    print_table("import times vs their floors (best of 5, interleaved)", run())
    print(f"({time.perf_counter() - t0:.0f} s)")
