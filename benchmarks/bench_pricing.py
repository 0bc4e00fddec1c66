"""Pricing one call from a Usage: `PriceBook.price` versus `litellm.cost_per_token`.

Goal: no more than 0.1x litellm's time per call. Both price the same usage of the same model
(with cache reads and reasoning), after a warm-up so lookups are cached on both sides.
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from typing import Any

GOAL = 0.10
CASES = [
    ("gpt-4o", dict(input=12_000, output=800, cache_read=4_096, reasoning=0)),
    ("claude-sonnet-4-5", dict(input=20_000, output=1_500, cache_read=15_000, cache_write_5m=2_000)),
    ("gpt-5.5", dict(input=3_000, output=2_000, reasoning=1_200)),
]


def _per_call(fn: Any, n: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def run(n: int = 20_000) -> list[dict[str, Any]]:
    """One row per model: µs per priced call for tokenomy and litellm, ratio, and both totals."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    from tokenomy import Usage
    from tokenomy.pricing import PriceBook

    book = PriceBook()
    rows = []
    for model, counts in CASES:
        usage = Usage(**counts)
        ours = _per_call(lambda: book.price(model, usage), n)
        kwargs: dict[str, Any] = dict(
            model=model,
            prompt_tokens=usage.input,
            completion_tokens=usage.output,
            cache_read_input_tokens=usage.cache_read,
            cache_creation_input_tokens=usage.cache_write_5m,
        )
        theirs = _per_call(lambda: litellm.cost_per_token(**kwargs), max(200, n // 20))
        our_total = book.price(model, usage)
        lit_in, lit_out = litellm.cost_per_token(**kwargs)
        rows.append(
            {
                "benchmark": "price one call",
                "case": model,
                "anchor": "litellm.cost_per_token",
                "ours_us": f"{ours * 1e6:.2f}",
                "anchor_us": f"{theirs * 1e6:.2f}",
                "ratio": f"{ours / theirs:.4f}x",
                "goal": f"<= {GOAL}x",
                "met": "yes" if ours / theirs <= GOAL else "NO",
                "ours_usd": str(our_total.total if our_total else None),
                "litellm_usd": f"{Decimal(repr(lit_in + lit_out)):.8f}",
            }
        )
    return rows


if __name__ == "__main__":
    from _table import print_table

    print_table("Pricing one call: tokenomy vs litellm", run())
