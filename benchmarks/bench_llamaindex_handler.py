"""Per-call overhead of the tokenomy LlamaIndex handler next to LlamaIndex's TokenCountingHandler.

Goal: tokenomy's overhead at most 3x TokenCountingHandler's (relaxed in issue 7). All setups are measured in the
same run on a fast in-process LLM (a ``CustomLLM`` whose ``complete`` returns at once): blocks
of ``llm.complete(prompt)`` with no handler, with ``TokenCountingHandler`` on the LLM's
``CallbackManager``, and with ``tokenomy_llamaindex.instrument()`` (event + span handler,
records priced into a ``MemoryLedger``), and through ``tokenomy_llamaindex.TokenomyLLM`` around
the same LLM (no policies, and ``MaxTokens``; the pipeline records each call, no handler
attached): the wrapper's own overhead per call, beside the handler's. How blocks are timed and compared (short,
interleaved, each against the no-handler block next to it, because this CPU changes speed) is
in ``_interleave.py``.

Two floors are measured in the same run, to show what the goal allows: a no-op
instrumentation event handler (LlamaIndex's own cost of dispatching a call's events to any
handler), and a capture-only event handler that keeps four references per call (span id, time,
the usage dict, the model name) and does nothing else: no pricing, no record. A handler that
records anything costs at least the second.

Two cases: the LLM reports usage in ``raw`` (OpenAI-shaped dict; the usual provider case:
neither handler tokenizes anything), and the LLM reports none (``TokenCountingHandler``
tokenizes prompt and answer, tokenomy estimates them: both tokenize).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _interleave import measure

GOAL = 3.0  # issue 7: relaxed to make room for a clearer record path
WRAPPER_BARE = "TokenomyLLM wrapper, no policies (no handler)"
WRAPPER_MAX_TOKENS = "TokenomyLLM wrapper + MaxTokens (no handler)"
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


def _calls(llm: Any) -> Any:
    complete = llm.complete

    def run(n: int) -> None:
        for _ in range(n):
            complete(PROMPT)

    return run


def _floors() -> tuple[Any, Any]:
    """(no-op event handler, capture-only event handler)."""
    from time import perf_counter

    from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    from llama_index.core.instrumentation.events.llm import (
        LLMCompletionEndEvent,
        LLMCompletionStartEvent,
    )

    class NoOp(BaseEventHandler):
        @classmethod
        def class_name(cls) -> str:
            return "NoOpFloor"

        def handle(self, event: Any, **kwargs: Any) -> None:
            return None

    class Capture(BaseEventHandler):
        starts: ClassVar[dict[Any, float]] = {}
        rows: ClassVar[list[Any]] = []

        @classmethod
        def class_name(cls) -> str:
            return "CaptureFloor"

        def handle(self, event: Any, **kwargs: Any) -> None:
            kind = type(event)
            if kind is LLMCompletionStartEvent:
                self.starts[event.span_id] = perf_counter()
            elif kind is LLMCompletionEndEvent:
                raw = event.response.raw
                self.rows.append(
                    (
                        event.span_id,
                        perf_counter(),
                        raw.get("usage") if raw else None,
                        raw.get("model") if raw else None,
                    )
                )

    return NoOp(), Capture()


def _case(report_usage: bool, block: int, repetitions: int) -> list[dict[str, Any]]:
    from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
    from llama_index.core.instrumentation import get_dispatcher

    import tokenomy
    import tokenomy_llamaindex as tli

    root = get_dispatcher()
    ledger = tokenomy.MemoryLedger()
    plain = _make_llm(report_usage)
    counting = _make_llm(report_usage)
    counting.callback_manager = CallbackManager([TokenCountingHandler()])
    noop, capture = _floors()
    run_plain = _calls(plain)

    def with_event_handler(handler: Any) -> Any:
        def run(n: int) -> None:
            root.add_event_handler(handler)
            try:
                run_plain(n)
            finally:
                root.event_handlers.remove(handler)

        return run

    # tokenomy's two handlers, built once by instrument() and then attached around each of
    # its blocks (as the floors are): building them belongs to set-up, not to each call
    event_handler = tli.instrument(ledger=ledger)
    span_handler = next(h for h in root.span_handlers if isinstance(h, tli.TokenomySpanHandler))
    tli.uninstrument()

    def ours(n: int) -> None:
        root.event_handlers.append(event_handler)
        root.span_handlers.append(span_handler)
        try:
            run_plain(n)
        finally:
            root.event_handlers.remove(event_handler)
            root.span_handlers.remove(span_handler)

    # the wrapper's own overhead: TokenomyLLM around the same fast LLM, no handler attached
    # (the pipeline records each call into its own ledger)
    wrapper_ledgers = {
        WRAPPER_BARE: tokenomy.MemoryLedger(),
        WRAPPER_MAX_TOKENS: tokenomy.MemoryLedger(),
    }
    bare = tli.TokenomyLLM(plain, ledger=wrapper_ledgers[WRAPPER_BARE])
    limited = tli.TokenomyLLM(
        plain,
        policies=[tokenomy.MaxTokens(default=64)],
        ledger=wrapper_ledgers[WRAPPER_MAX_TOKENS],
    )

    setups = {
        "none": run_plain,
        "no-op event handler (dispatch floor)": with_event_handler(noop),
        "capture-only event handler (floor)": with_event_handler(capture),
        "TokenCountingHandler": _calls(counting),
        "tokenomy": ours,
        WRAPPER_BARE: _calls(bare),
        WRAPPER_MAX_TOKENS: _calls(limited),
    }
    warm = 200
    results = measure(setups, block=block, repetitions=repetitions, warmup=warm)
    anchor = results["TokenCountingHandler"].overhead_us
    expected = warm + block * repetitions
    case = "usage in raw" if report_usage else "no usage (both tokenize)"
    rows = []
    for name, m in results.items():
        if name == "none":
            continue
        ratio = m.overhead_us / anchor if anchor > 0 else float("inf")
        ours_row = name == "tokenomy"
        rows.append(
            {
                "benchmark": "LlamaIndex overhead per call",
                "case": case,
                "setup": name,
                "call_us": f"{results['none'].per_call_us:.1f}",
                "overhead_us": f"{m.overhead_us:.2f}",
                "vs_anchor": f"{ratio:.2f}x",
                "goal": f"<= {GOAL}x" if ours_row else ("anchor" if name == "TokenCountingHandler" else ""),
                "met": ("yes" if ratio <= GOAL else "no") if ours_row else "",
                "records": (
                    f"{ledger.count()}/{expected}"
                    if ours_row
                    else f"{wrapper_ledgers[name].count()}/{expected}"
                    if name in wrapper_ledgers
                    else ""
                ),
            }
        )
    return rows


def run(block: int = 25, repetitions: int = 300) -> list[dict[str, Any]]:
    """Rows per case: each setup's overhead per call and its ratio to TokenCountingHandler."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # estimated-usage warnings of the no-usage case
        return _case(True, block, repetitions) + _case(False, block, repetitions)


if __name__ == "__main__":
    from _table import print_table

    print_table("tokenomy LlamaIndex handler vs TokenCountingHandler", run())
