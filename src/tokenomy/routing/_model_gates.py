"""Gates that ask a model: a judge, and agreement with a second cheap model.

Each holds a ``send`` (``ModelRequest -> ModelResponse``, the same contract as a wrapper's
sender and :class:`tokenomy.Summarizer`; :class:`tokenomy.testing.MockSender` in tests) and
runs its call through a :class:`~tokenomy.Pipeline` of its own, so the call is a ledger record
too (tag ``purpose`` = ``routing-judge`` / ``routing-agreement``, its parent the judged call's
run): the cascade's cost includes its gates. The call is synchronous (a gate checks inside the
attempt's record step); on the async path it blocks for that long.
"""

from __future__ import annotations

import contextvars
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from tokenomy.pipeline import ModelRequest, ModelResponse, Pipeline, RunInfo, Send
from tokenomy.routing._gate import Gate, Verdict
from tokenomy.routing._math_gates import final_number, prompt_text

if TYPE_CHECKING:
    from tokenomy.ledger import LedgerStore
    from tokenomy.pricing import PriceBook

__all__ = ["JUDGE_PROMPT", "Agreement", "Judge", "normalized_answer"]

JUDGE_PROMPT = (
    "You check answers. Question:\n{question}\n\nAnswer:\n{answer}\n\n"
    "Is the answer correct and complete? Reply with a score from 0 to 10 and nothing else."
)


def _side_request(request: ModelRequest, model: str, purpose: str, **fields: object) -> ModelRequest:
    return ModelRequest(
        model=model,
        tags={**request.tags, "purpose": purpose},
        run=RunInfo(parent_run_id=request.run.run_id, root_run_id=request.run.root_run_id),
        framework=request.framework,
        **fields,  # type: ignore[arg-type]
    )


class Judge(Gate):
    """Asks ``model`` (a cheap one) through ``send`` to score the answer 0-10 with ``prompt``
    (``{question}``, ``{answer}``); passes at ``threshold`` (0-1)."""

    name = "judge"
    calls_model = True

    def __init__(
        self,
        send: Send,
        model: str,
        *,
        threshold: float = 0.7,
        prompt: str = JUDGE_PROMPT,
        ledger: LedgerStore | None = None,
        price_book: PriceBook | None = None,
    ) -> None:
        self.send = send
        self.model = model
        self.threshold = threshold
        self.prompt = prompt
        self.pipeline = Pipeline(ledger=ledger, price_book=price_book)

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        text = self.prompt.format(question=prompt_text(request), answer=response.text)
        ask = _side_request(
            request,
            self.model,
            "routing-judge",
            messages=[{"role": "user", "content": text}],
            params={"max_tokens": 8, "temperature": 0},
        )
        reply = self.pipeline.call(ask, self.send).consume().text
        found = re.search(r"\d+(?:\.\d+)?", reply)
        if found is None:
            return Verdict(False, 0.0, f"judge gave no score ({reply[:40]!r})")
        score = max(0.0, min(1.0, float(found.group()) / 10.0))
        return Verdict(score >= self.threshold, score, f"judge {score:.2f}")


def normalized_answer(text: str) -> str:
    """What two answers must share to agree: the final number when there is one, else the
    lower-cased words."""
    number = final_number(text)
    if number is not None:
        return f"{number:g}"
    return " ".join(re.findall(r"\w+", text.lower()))


class Agreement(Gate):
    """Asks ``model`` (a second cheap model) the same request through ``send``; passes when
    both answers agree (``key(text)`` equal, default :func:`normalized_answer`).

    ``parallel=True`` (default): the second call starts when the tier's request is prepared,
    in a worker thread (the caller's context, so ``track()`` blocks apply), and runs while the
    tier answers; the check waits for it. Without a prepared request (``check`` called
    alone) it is asked then.
    """

    name = "agreement"
    calls_model = True
    #: prepared second calls kept waiting for their check at most (oldest dropped)
    MAX_PENDING = 256

    def __init__(
        self,
        send: Send,
        model: str,
        *,
        key: Callable[[str], str] = normalized_answer,
        parallel: bool = True,
        ledger: LedgerStore | None = None,
        price_book: PriceBook | None = None,
    ) -> None:
        self.send = send
        self.model = model
        self.key = key
        self.parallel = parallel
        self.pipeline = Pipeline(ledger=ledger, price_book=price_book)
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[object, Future[str]]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def _ask(self, request: ModelRequest) -> str:
        ask = _side_request(
            request,
            self.model,
            "routing-agreement",
            messages=list(request.messages),
            prompt=request.prompt,
            kind=request.kind,
            params=dict(request.params),
        )
        return self.pipeline.call(ask, self.send).consume().text

    def prepare(self, request: ModelRequest) -> ModelRequest:
        if not self.parallel:
            return request
        # a fresh messages list marks this request: replace()/with_tags() keep the same object
        marked = request.replace(messages=list(request.messages))
        context = contextvars.copy_context()
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tokenomy-agree")
            future = self._pool.submit(context.run, self._ask, marked)
            self._pending[id(marked.messages)] = (marked.messages, future)
            while len(self._pending) > self.MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
        return marked

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        with self._lock:
            found = self._pending.get(id(request.messages))
            if found is not None and found[0] is request.messages:
                del self._pending[id(request.messages)]
            else:
                found = None
        other = found[1].result() if found is not None else self._ask(request)
        same = self.key(response.text) == self.key(other)
        return Verdict.of(same, "answers agree" if same else "answers differ")
