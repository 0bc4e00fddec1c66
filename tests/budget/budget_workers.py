"""Worker processes of the budget concurrency and fault tests (spawned: importable by name).

``openai_sender`` is a pipeline sender over the real ``openai`` SDK client, talking HTTP to the
provider simulator; ``hammer`` runs threads of budgeted calls through it and reports what
happened."""

from __future__ import annotations

import os
import threading
import time
from decimal import Decimal
from typing import Any

from tokenomy import (
    Budget,
    BudgetExceededError,
    MemoryLedger,
    ModelRequest,
    ModelResponse,
    Pipeline,
    Usage,
    open_budget_store,
)

MODEL = "gpt-4o"


class OpenAISender:
    """A pipeline sender that calls the simulator through the real openai SDK."""

    def __init__(self, base_url: str) -> None:
        import openai

        self.client = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
        self.sent = 0
        self._lock = threading.Lock()

    def __call__(self, request: ModelRequest) -> ModelResponse:
        with self._lock:
            self.sent += 1
        kwargs: dict[str, Any] = {}
        if request.max_tokens is not None:
            kwargs["max_tokens"] = request.max_tokens
        done = self.client.chat.completions.create(
            model=request.model or MODEL, messages=list(request.messages), **kwargs  # type: ignore[arg-type]
        )
        usage = done.usage
        assert usage is not None
        return ModelResponse(
            message={"role": "assistant", "content": done.choices[0].message.content or ""},
            usage=Usage(input=usage.prompt_tokens, output=usage.completion_tokens),
            finish_reason=done.choices[0].finish_reason,
            model=done.model,
            provider="openai",
        )


def budget(store_url: str, **kw: Any) -> Budget:
    """The budget every worker shares: $1.00 a day under one name."""
    kw.setdefault("limit_usd", "1.00")
    return Budget(store=open_budget_store(store_url), name="shared", **kw)


def hammer(store_url: str, base_url: str, threads: int, calls: int, out: Any) -> None:
    """``threads`` threads each make ``calls`` budgeted calls of varying length; puts
    (pid, ok, refused, sent, ledger cost, refusals raised after a send) on ``out``."""
    pipe = Pipeline([budget(store_url)], ledger=(ledger := MemoryLedger()))
    send = OpenAISender(base_url)
    counts = {"ok": 0, "refused": 0, "late": 0}
    lock = threading.Lock()

    def run(t: int) -> None:
        for i in range(calls):
            words = 50 + (os.getpid() * 7 + t * 131 + i * 977) % 1500
            request = ModelRequest(
                model=MODEL,
                messages=[{"role": "user", "content": f"Write {words} words about budgets."}],
                params={"max_tokens": 2000},
            )
            before = send.sent
            try:
                pipe.call(request, send)
                key = "ok"
            except BudgetExceededError:
                key = "refused"
                if send.sent != before and threads == 1:
                    key = "late"
            with lock:
                counts[key] += 1

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    total = sum((r.cost.total for r in ledger.query() if r.cost is not None), Decimal(0))
    out.put((os.getpid(), counts["ok"], counts["refused"], send.sent, str(total), counts["late"]))


def reserve_and_die(store_url: str, ttl: float, started: Any) -> None:
    """Reserve for a call to a simulator that never answers, then get killed mid-call."""
    b = budget(store_url, reservation_ttl=ttl)

    def send(request: ModelRequest) -> ModelResponse:
        started.set()
        time.sleep(3600)  # killed here
        raise AssertionError("unreachable")

    Pipeline([b]).call(
        ModelRequest(model=MODEL, messages=[{"role": "user", "content": "hi"}], params={"max_tokens": 16000}),
        send,
    )
