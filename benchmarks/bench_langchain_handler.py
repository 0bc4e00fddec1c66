"""Per-call overhead of TokenomyCallbackHandler next to LangChain's own usage handlers.

Goal: tokenomy's overhead per chat-model call no more than ``UsageMetadataCallbackHandler``'s,
while tokenomy also prices the call and records it (into a ``MemoryLedger``, and into a
``SQLiteLedger`` in a temp dir, flushed inside the timed section). All setups are measured in
the same run on a fast in-process chat model (a ``BaseChatModel`` returning an ``AIMessage``
with ``usage_metadata`` and ``response_metadata={"model_name": "gpt-4o-mini"}``): N calls of
``model.invoke(prompt, config)`` with no handler, then with each handler in ``callbacks``;
overhead = (time with the handler - time with none) / N. Rounds alternate the setups and the
fastest round of each is kept (on a shared machine noise only ever adds time). ``overhead_us`` is process CPU time (``time.process_time``, so the
SQLite writer thread is counted); ``caller_us`` the calling thread's alone (``time.thread_time``:
what a request waits). ``get_openai_callback`` lives in langchain-community; its row says
so when that package is not installed.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

GOAL = 1.0
ANCHOR = "UsageMetadataCallbackHandler"
PROMPT = "You are a helpful assistant. What is the capital of France?"


def _make_model() -> Any:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    class FastChat(BaseChatModel):
        """Answers at once with the usage a provider would report."""

        @property
        def _llm_type(self) -> str:
            return "fast-chat"

        def _generate(
            self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any
        ) -> ChatResult:
            message = AIMessage(
                "The capital of France is Paris.",
                usage_metadata={
                    "input_tokens": 21,
                    "output_tokens": 8,
                    "total_tokens": 29,
                    "input_token_details": {"cache_read": 0},
                    "output_token_details": {"reasoning": 0},
                },
                response_metadata={"model_name": "gpt-4o-mini"},
            )
            return ChatResult(generations=[ChatGeneration(message=message)])

    return FastChat()


def _time_calls(
    model: Any, n: int, config: dict[str, Any], around: Callable[[], AbstractContextManager[Any]]
) -> tuple[float, float]:
    """(process CPU s per call, calling thread's CPU s per call)."""
    invoke = model.invoke
    gc.collect()  # no collection owed by the previous setup's garbage is charged to this one
    start, start_thread = time.process_time(), time.thread_time()
    with around():
        for _ in range(n):
            invoke(PROMPT, config)
    return (time.process_time() - start) / n, (time.thread_time() - start_thread) / n


def _openai_callback() -> Callable[[], AbstractContextManager[Any]] | None:
    try:
        from langchain_community.callbacks import get_openai_callback  # type: ignore[import-not-found]
    except ImportError:
        return None
    return get_openai_callback  # type: ignore[no-any-return]


def _setups(tmp: Path) -> Iterator[tuple[str, dict[str, Any], Callable[[], Any], Any]]:
    """(name, config, context manager factory around the calls, object whose records count)."""
    from langchain_core.callbacks import BaseCallbackHandler, UsageMetadataCallbackHandler

    import tokenomy
    import tokenomy_langchain

    class NoOp(BaseCallbackHandler):
        """LangChain's own cost of calling any handler: start and end events, doing nothing."""

        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            return None

    yield "none", {}, nullcontext, None
    yield "no-op handler (dispatch floor)", {"callbacks": [NoOp()]}, nullcontext, None
    yield (
        "UsageMetadataCallbackHandler",
        {"callbacks": [UsageMetadataCallbackHandler()]},
        (nullcontext),
        None,
    )
    openai_cb = _openai_callback()
    if openai_cb is not None:
        yield "get_openai_callback", {}, openai_cb, None
    memory = tokenomy.MemoryLedger()
    handler = tokenomy_langchain.TokenomyCallbackHandler(ledger=memory)
    yield "tokenomy (MemoryLedger)", {"callbacks": [handler]}, nullcontext, memory
    sqlite = tokenomy.SQLiteLedger(tmp / "bench.db")

    class _Flushing:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            sqlite.flush()

    handler_sql = tokenomy_langchain.TokenomyCallbackHandler(ledger=sqlite)
    yield "tokenomy (SQLiteLedger)", {"callbacks": [handler_sql]}, _Flushing, sqlite
    track_ledger = tokenomy.MemoryLedger()
    yield (
        "tokenomy_langchain.track()",
        {},
        (lambda: tokenomy_langchain.track(ledger=track_ledger)),
        track_ledger,
    )


def run(n: int = 1_000, rounds: int = 15) -> list[dict[str, Any]]:
    """One row per setup: µs per call, overhead over no handler, ratio to the anchor."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    model = _make_model()
    warm = min(n, 200)
    with tempfile.TemporaryDirectory() as tmpdir, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        setups = list(_setups(Path(tmpdir)))
        for _, config, around, _ in setups:  # warm-up: imports, price lookups, the db file
            _time_calls(model, warm, config, around)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in setups}
        for _ in range(rounds):
            for name, config, around, _ in setups:
                times[name].append(_time_calls(model, n, config, around))
        counts = {name: (len(store) if store is not None else None) for name, *_, store in setups}
        for *_, store in setups:
            if store is not None:
                store.close()
    med = {k: min(t[0] for t in v) for k, v in times.items()}
    med_thread = {k: min(t[1] for t in v) for k, v in times.items()}
    anchor = med[ANCHOR] - med["none"]
    rows: list[dict[str, Any]] = []
    for name, *_ in setups:
        over = med[name] - med["none"]
        ours = name.startswith("tokenomy")
        ratio = over / anchor if anchor > 0 else float("inf")
        rows.append(
            {
                "benchmark": "LangChain overhead per call",
                "case": name,
                "call_us": f"{med[name] * 1e6:.1f}",
                "overhead_us": "-" if name == "none" else f"{over * 1e6:.1f}",
                "caller_us": "-"
                if name == "none"
                else f"{(med_thread[name] - med_thread['none']) * 1e6:.1f}",
                "vs_anchor": "-" if name == "none" else f"{ratio:.2f}x",
                "goal": f"<= {GOAL}x anchor" if ours else ("anchor" if name == ANCHOR else ""),
                "met": ("yes" if ratio <= GOAL else "no") if ours else "",
                "records": f"{counts[name]}/{warm + rounds * n}"
                if counts[name] is not None
                else "",
            }
        )
    if _openai_callback() is None:
        rows.append(
            {
                "benchmark": "LangChain overhead per call",
                "case": "get_openai_callback",
                "call_us": "skipped",
                "goal": "langchain-community not installed",
            }
        )
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _table import print_table

    print_table("tokenomy LangChain handler vs LangChain's usage handlers", run())
