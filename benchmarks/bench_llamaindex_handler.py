"""Per-call overhead of the tokenomy LlamaIndex handler next to LlamaIndex's TokenCountingHandler.

Goal: tokenomy's overhead at most 0.2x TokenCountingHandler's. Both are measured in the same
run on a fast in-process LLM (a ``CustomLLM`` whose ``complete`` returns at once), N calls of
``llm.complete(prompt)`` with no handler, with ``TokenCountingHandler`` on the LLM's
``CallbackManager``, and with ``tokenomy_llamaindex.instrument()`` (event + span handler,
records priced into a ``MemoryLedger``); overhead = (time with the handler - time with none) / N.
Rounds alternate the three setups and the median of each is kept; times are the calling
thread's CPU time (``time.thread_time``), so a busy machine skews them less than wall time.

Two cases: the LLM reports usage in ``raw`` (OpenAI-shaped dict; the usual provider case:
neither handler tokenizes anything), and the LLM reports none (``TokenCountingHandler``
tokenizes prompt and answer, tokenomy estimates them: both tokenize).

``record_call_us`` is the part of tokenomy's overhead spent in the core's ``record_call``
(pricing, building the ``CostRecord``, the ledger write), measured alone in the same run.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

GOAL = 0.20
PROMPT = (
    "You are a helpful assistant. Answer the question using the context below.\n"
    "Context: Paris is the capital and most populous city of France. "
    * 4
    + "\nQuestion: What is the capital of France?"
)
ANSWER = "The capital of France is Paris."


def _make_llm(report_usage: bool) -> Any:
    from llama_index.core.base.llms.types import (
        CompletionResponse,
        CompletionResponseGen,
        LLMMetadata,
    )
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.llms.callbacks import llm_completion_callback
    from llama_index.core.llms.custom import CustomLLM

    class FastLLM(CustomLLM):
        """Answers at once; optionally with an OpenAI-shaped raw response carrying usage."""

        report: bool = True

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(model_name="gpt-4o-mini")

        @llm_completion_callback()
        def complete(
            self, prompt: str, formatted: bool = False, **kwargs: Any
        ) -> CompletionResponse:
            raw = None
            if self.report:
                raw = {
                    "model": "gpt-4o-mini",
                    "usage": {"prompt_tokens": 61, "completion_tokens": 8, "total_tokens": 69},
                }
            return CompletionResponse(text=ANSWER, raw=raw)

        @llm_completion_callback()
        def stream_complete(
            self, prompt: str, formatted: bool = False, **kwargs: Any
        ) -> CompletionResponseGen:
            yield self.complete(prompt)

    return FastLLM(report=report_usage, callback_manager=CallbackManager([]))


def _time_calls(llm: Any, n: int) -> float:
    complete = llm.complete
    start = time.thread_time()
    for _ in range(n):
        complete(PROMPT)
    return (time.thread_time() - start) / n


def _record_call_us(n: int) -> float:
    """µs of ``tokenomy.record_call`` alone (pricing + CostRecord + ledger), as the handler calls it."""
    import tokenomy

    ledger = tokenomy.MemoryLedger()
    usage = tokenomy.Usage(input=61, output=8)

    def once() -> None:
        tokenomy.record_call(
            model="gpt-4o-mini",
            usage=usage,
            kind="completion",
            latency_ms=1.0,
            run_id="FastLLM.complete-0",
            root_run_id="FastLLM.complete-0",
            tags={"run_name": "FastLLM.complete"},
            name="FastLLM.complete",
            framework="llamaindex",
            ledger=ledger,
        )

    once()
    start = time.thread_time()
    for _ in range(n):
        once()
    return (time.thread_time() - start) / n * 1e6


def _case(report_usage: bool, n: int, rounds: int) -> dict[str, Any]:
    from llama_index.core.callbacks import CallbackManager, TokenCountingHandler

    import tokenomy
    import tokenomy_llamaindex as tli

    ledger = tokenomy.MemoryLedger()
    plain = _make_llm(report_usage)
    counting = _make_llm(report_usage)
    counter = TokenCountingHandler()
    counting.callback_manager = CallbackManager([counter])

    def none() -> float:
        return _time_calls(plain, n)

    def token_counting() -> float:
        return _time_calls(counting, n)

    def ours() -> float:
        tli.instrument(ledger=ledger)
        try:
            return _time_calls(plain, n)
        finally:
            tli.uninstrument()

    setups = {"none": none, "TokenCountingHandler": token_counting, "tokenomy": ours}
    for fn in setups.values():  # warm-up: imports, encodings, price lookups
        fn()
    times: dict[str, list[float]] = {k: [] for k in setups}
    for _ in range(rounds):
        for key, fn in setups.items():
            times[key].append(fn())
    med = {k: statistics.median(v) for k, v in times.items()}
    tch = med["TokenCountingHandler"] - med["none"]
    tok = med["tokenomy"] - med["none"]
    ratio = tok / tch if tch > 0 else float("inf")
    recorded = len(ledger.query())
    expected = (rounds + 1) * n
    return {
        "benchmark": "LlamaIndex handler overhead per call",
        "case": "usage in raw" if report_usage else "no usage (both tokenize)",
        "anchor": "TokenCountingHandler",
        "call_us": f"{med['none'] * 1e6:.1f}",
        "ours_us": f"{tok * 1e6:.2f}",
        "anchor_us": f"{tch * 1e6:.2f}",
        "ratio": f"{ratio:.3f}x",
        "record_call_us": f"{_record_call_us(n):.2f}",
        "goal": f"<= {GOAL}x",
        "met": "yes" if ratio <= GOAL else "no",
        "records": f"{recorded}/{expected}",
    }


def run(n: int = 2_000, rounds: int = 7) -> list[dict[str, Any]]:
    """One row per case: µs per call with no handler, each handler's overhead, their ratio."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # estimated-usage warnings of the no-usage case
        return [_case(True, n, rounds), _case(False, n, rounds)]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _table import print_table

    print_table("tokenomy LlamaIndex handler vs TokenCountingHandler", run())
