"""What one budgeted call reserves and settles: its output range, the capped request, its
actual cost from the pipeline's record, a per-request budget's decision and the run a
``window="run"`` budget counts it in."""

from __future__ import annotations

import logging

from tokenomy.budget._store import Line, Refusal, Reservation, from_nanos, to_nanos
from tokenomy.budget._worst import Worst
from tokenomy.pipeline._request import ModelRequest
from tokenomy.pipeline._response import ModelResponse

__all__ = ["actual_cost", "capped", "one_request", "output_range", "root_run"]

LOG = logging.getLogger("tokenomy.budget")


def output_range(request: ModelRequest, worst: Worst, min_output_tokens: int) -> tuple[int, int]:
    """``(max_out, min_out)`` output tokens a call may reserve: up to the caller's
    ``max_tokens`` or the model's limit, at least ``min_output_tokens`` (none for embeddings)."""
    if request.kind == "embedding":
        return 0, 0
    asked = request.max_tokens
    max_out = asked if asked is not None else worst.output_limit
    return max_out, min(min_output_tokens, max_out)


def capped(request: ModelRequest, held: Reservation) -> ModelRequest:
    """``request`` with ``max_tokens`` set to what ``held`` reserved (not for embeddings)."""
    if request.kind == "embedding" or request.max_tokens == held.out_tokens:
        return request
    return request.with_params(max_tokens=held.out_tokens)


def actual_cost(name: str, held: Reservation, response: ModelResponse | None) -> tuple[int, int]:
    """What a call cost, to settle ``held`` with: the pipeline's record of it (``nanos``,
    ``tokens``); unpriced → the reserved amount; no record → nothing (never sent)."""
    record = None if response is None else response.record
    if record is None:
        return 0, 0
    usage = record.usage
    tokens = int(usage.input + usage.output)
    cost = record.cost_total
    nanos = held.nanos if cost is None else to_nanos(cost)
    if nanos > held.nanos or tokens > held.tokens:
        LOG.warning(
            "budget %r: a call to %s cost more than its reservation ($%s > $%s, %d > %d "
            "tokens); the estimate for such requests is too low",
            name, record.model, from_nanos(nanos), from_nanos(held.nanos), tokens, held.tokens,
        )
    return nanos, tokens


def one_request(line: Line, worst: Worst, min_out: int, max_out: int) -> Reservation | Refusal:
    """A per-request budget: the call against its limit alone, nothing kept in a store."""
    from tokenomy.budget._store import decide

    n = decide(
        [line],
        [(0, 0, 0, 0)],
        fixed_nanos=worst.fixed_nanos,
        rate_pico=worst.rate_pico,
        fixed_tokens=worst.prompt_tokens,
        min_out=min_out,
        max_out=max_out,
    )
    if isinstance(n, Refusal):
        return n
    return Reservation("", (), n, worst.nanos(n), worst.prompt_tokens + n)


def root_run(request: ModelRequest) -> str | None:
    """The run a ``window="run"`` budget counts this call in: the root run the framework
    names, else the outermost enclosing ``track()`` block, else the call's parent run (a
    LangChain wrapper knows only its parent), else the call alone."""
    run = request.run
    root = run.root_run_id
    if root is None:
        from tokenomy._tracking import current_trackers

        trackers = current_trackers()
        root = trackers[0].run_id if trackers else (run.parent_run_id or run.run_id)
    return None if root is None else str(root)
