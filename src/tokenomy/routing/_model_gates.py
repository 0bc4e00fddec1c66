"""Gates that ask a model: a judge, and agreement with a second cheap model.

Each holds a ``send`` (``ModelRequest -> ModelResponse``, the same contract as a wrapper's
sender and :class:`tokenomy.Summarizer`; :class:`tokenomy.testing.MockSender` in tests) and
runs its call through a :class:`~tokenomy.Pipeline` of its own, so the call is a ledger record
too (tag ``purpose`` = ``routing-judge`` / ``routing-agreement``, its parent the judged call's
run): the cascade's cost includes its gates. The call is synchronous (a gate checks inside the
attempt's record step); on the async path it blocks for that long.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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
    both answers agree (``key(text)`` equal, default :func:`normalized_answer`)."""

    name = "agreement"

    def __init__(
        self,
        send: Send,
        model: str,
        *,
        key: Callable[[str], str] = normalized_answer,
        ledger: LedgerStore | None = None,
        price_book: PriceBook | None = None,
    ) -> None:
        self.send = send
        self.model = model
        self.key = key
        self.pipeline = Pipeline(ledger=ledger, price_book=price_book)

    def check(self, request: ModelRequest, response: ModelResponse) -> Verdict:
        ask = _side_request(
            request,
            self.model,
            "routing-agreement",
            messages=list(request.messages),
            prompt=request.prompt,
            kind=request.kind,
            params=dict(request.params),
        )
        other = self.pipeline.call(ask, self.send).consume().text
        same = self.key(response.text) == self.key(other)
        return Verdict.of(same, "answers agree" if same else "answers differ")
