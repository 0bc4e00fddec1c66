"""`import tokenomy` versus `import litellm`: goal, no more than 0.1x of litellm's import time.

Each import runs in a fresh interpreter (median of several runs), with
LITELLM_LOCAL_MODEL_COST_MAP=True so litellm reads its bundled price map instead of the network.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

GOAL = 0.10


def _time_import(module: str, runs: int) -> float:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    code = (
        f"import time; t=time.perf_counter(); import {module}; "
        "print(time.perf_counter()-t)"
    )
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def run(runs: int = 5) -> list[dict[str, Any]]:
    """Rows: tokenomy's and litellm's import time and their ratio."""
    # warm the OS file cache for both, so neither pays a cold-disk penalty
    _time_import("tokenomy", 1)
    _time_import("litellm", 1)
    t_tok = _time_import("tokenomy", runs)
    t_lit = _time_import("litellm", max(3, runs // 2))
    ratio = t_tok / t_lit
    return [
        {
            "benchmark": "import time",
            "case": "import tokenomy",
            "anchor": "import litellm",
            "ours_ms": f"{t_tok * 1e3:.1f}",
            "anchor_ms": f"{t_lit * 1e3:.1f}",
            "ratio": f"{ratio:.4f}x",
            "goal": f"<= {GOAL}x",
            "met": "yes" if ratio <= GOAL else "NO",
        }
    ]


if __name__ == "__main__":
    from _table import print_table

    t0 = time.perf_counter()
    print_table("import tokenomy vs import litellm", run())
