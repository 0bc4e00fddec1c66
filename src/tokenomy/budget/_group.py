"""``a & b``: several budgets reserved against in one atomic step.

Several :class:`~tokenomy.Budget` policies in a pipeline reserve one after the other (the
outer one holding its worst case while the inner one decides). Joined with ``&`` they are one
policy: one store operation holds the call's worst case on every budget that applies, or on
none; ``max_tokens`` is capped to what the tightest of them has left; the budget that refuses
decides what happens (its ``on_exceed``), and each budget's alerts fire for its own line.

The worst case follows the first budget's settings (prices, margin, output limit); the
strictest ``min_output_tokens`` and the shortest ``reservation_ttl`` apply; the group fails
open only when every member does. All members share one store.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from tokenomy.budget._budget import _ACTIVE, Budget, _Plan
from tokenomy.budget._call import actual_cost, capped, output_range
from tokenomy.budget._memory import MemoryBudgetStore
from tokenomy.budget._store import BudgetStore, Refusal, Reservation, Settled
from tokenomy.budget._worst import Worst
from tokenomy.exceptions import BudgetStoreError, ConfigurationError
from tokenomy.pipeline._policy import AsyncCallNext, CallNext, Policy
from tokenomy.pipeline._request import ModelRequest
from tokenomy.pipeline._response import ModelResponse

__all__ = ["BudgetGroup"]

LOG = logging.getLogger("tokenomy.budget")
_Applied = list[tuple[Budget, _Plan]]


class BudgetGroup(Policy):
    """Budgets reserved together (build with ``budget_a & budget_b``; module docstring)."""

    name = "budgets"

    def __init__(self, budgets: Iterable[Budget | BudgetGroup]) -> None:
        members: list[Budget] = []
        for b in budgets:
            if isinstance(b, BudgetGroup):
                members.extend(b.budgets)
            elif isinstance(b, Budget):
                members.append(b)
            else:
                raise ConfigurationError(f"only tokenomy.Budget policies join with &, got {b!r}")
        if len(members) < 2:
            raise ConfigurationError("a BudgetGroup joins two or more budgets")
        names = [b.budget_name for b in members]
        if len(set(names)) != len(names):
            raise ConfigurationError(f"a BudgetGroup names one budget twice: {names}")
        stores = {id(b.store) for b in members}
        if len(stores) != 1:
            raise ConfigurationError(
                "budgets joined with & must share one store (give them the same store=)"
            )
        for b in members:
            if b.window.kind == "request":
                raise ConfigurationError(
                    f"budget {b.budget_name!r} is per request (it keeps nothing in a store): "
                    "use it as a policy of its own, not in a group"
                )
        self.budgets: tuple[Budget, ...] = tuple(members)
        self.store: BudgetStore = members[0].store
        self.min_output_tokens = max(b.min_output_tokens for b in members)
        self.reservation_ttl = min(b.reservation_ttl for b in members)
        self.fail_open = all(b.fail_open for b in members)

    def __and__(self, other: object) -> BudgetGroup:
        if not isinstance(other, Budget | BudgetGroup):
            return NotImplemented
        return BudgetGroup([self, other])

    def __repr__(self) -> str:
        return " & ".join(repr(b) for b in self.budgets)

    # -- reserving -----------------------------------------------------------------------

    def _worst(self, applied: _Applied, request: ModelRequest, model: str) -> Worst:
        for budget, _ in applied:
            if budget.limit_usd is not None:
                budget._price(model, request.provider)  # refuses an unpriced model
        return self.budgets[0].worst(request, model)

    def _try(
        self, applied: _Applied, request: ModelRequest, model: str
    ) -> tuple[Worst, Reservation | Refusal]:
        worst = self._worst(applied, request, model)
        max_out, min_out = output_range(request, worst, self.min_output_tokens)
        result = self.store.reserve(
            uuid.uuid4().hex,
            [plan.line for _, plan in applied],
            fixed_nanos=worst.fixed_nanos,
            rate_pico=worst.rate_pico,
            fixed_tokens=worst.prompt_tokens,
            min_out=min_out,
            max_out=max_out,
            ttl=self.reservation_ttl,
        )
        return worst, result

    def _reserve(
        self, request: ModelRequest
    ) -> tuple[ModelRequest, Reservation | None, _Applied] | ModelResponse:
        rid = uuid.uuid4().hex
        applied: _Applied = []
        for budget in self.budgets:
            plan = budget._plan(request, rid)
            if plan is not None:
                applied.append((budget, plan))
        if not applied:
            return request, None, applied
        for budget, _ in applied:
            budget._define_once()
        model = request.model
        if not model:
            if any(b.limit_usd is not None for b, _ in applied):
                raise ConfigurationError(
                    "a dollar Budget cannot price a call that names no model: set the model "
                    "on the wrapped client, or use limit_tokens"
                )
            model = "unknown"
        worst, result = self._try(applied, request, model)
        if isinstance(result, Reservation):
            for i, (budget, plan) in enumerate(applied):
                if result.used and budget._past_downgrade_at(plan, result.used[i], model):
                    self.store.settle(result, nanos=0, tokens=0)
                    result = Refusal(i, plan.line.alert_unit, 0, result.used[i], 0)
                    break
        if isinstance(result, Refusal):
            budget, _ = applied[result.index]
            if budget.on_exceed == "downgrade" and budget.downgrade_to and model != budget.downgrade_to:
                LOG.info("budget %r: %s downgraded to %s", budget.budget_name, model,
                         budget.downgrade_to)
                request = request.replace(model=budget.downgrade_to).with_tags(
                    budget_downgraded_from=model
                )
                worst, result = self._try(applied, request, budget.downgrade_to)
            if isinstance(result, Refusal):
                budget, plan = applied[result.index]
                error = budget._exceeded(plan, worst, result, request)
                if budget.on_exceed == "end":
                    LOG.info("budget %r: call ended: %s", budget.budget_name, error)
                    return budget._ended(request)
                raise error
        return capped(request, result), result, applied

    def _reserve_or_pass(
        self, request: ModelRequest
    ) -> tuple[ModelRequest, Reservation | None, _Applied] | ModelResponse:
        try:
            return self._reserve(request)
        except BudgetStoreError as exc:
            if not self.fail_open:
                raise
            LOG.warning("budgets %s: store unavailable, call let through unbudgeted "
                        "(fail_open=True): %s", [b.budget_name for b in self.budgets], exc)
            return request, None, []

    # -- settling ------------------------------------------------------------------------

    def _settle(self, held: Reservation, applied: _Applied, response: ModelResponse | None) -> None:
        nanos, tokens = actual_cost(" & ".join(b.budget_name for b, _ in applied), held, response)

        def fire_alerts(settled: Settled) -> None:
            for i, j, spent in settled.fired:
                budget, plan = applied[i]
                budget._alert(plan, j, spent)

        try:  # off the caller's path where the store can (its hold counts until then)
            self.store.settle_later(held, nanos=nanos, tokens=tokens, then=fire_alerts)
        except BudgetStoreError as exc:
            LOG.error("budgets: could not settle a call (its reservation will lapse): %s", exc)

    def _release(self, held: Reservation) -> None:
        try:
            self.store.settle_later(held, nanos=0, tokens=0)
        except BudgetStoreError as exc:
            LOG.error("budgets: could not release a reservation (it will lapse): %s", exc)

    # -- the policy ----------------------------------------------------------------------

    def _active(self) -> frozenset[tuple[int, str]]:
        active = _ACTIVE.get()
        keys = {(id(self.store), b.budget_name) for b in self.budgets}
        twice = sorted(name for _, name in keys & active)
        if twice:
            raise ConfigurationError(
                f"budget {twice[0]!r} applies twice to one call (two Budget policies with one "
                "name in one store): remove one, or name them apart"
            )
        return active | keys

    def _after(self, out: Any, response: ModelResponse) -> ModelResponse:
        _, held, applied = out
        if held is not None:
            response.on_complete(lambda resp, _error: self._settle(held, applied, resp))
        return response

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        active = self._active()
        out = self._reserve_or_pass(request)
        if isinstance(out, ModelResponse):
            return out
        token = _ACTIVE.set(active)
        try:
            try:
                response = call_next(out[0])
            except BaseException:
                if out[1] is not None:
                    self._release(out[1])
                raise
            return self._after(out, response)
        finally:
            _ACTIVE.reset(token)

    async def ahandle(self, request: ModelRequest, call_next: AsyncCallNext) -> ModelResponse:
        active = self._active()
        if isinstance(self.store, MemoryBudgetStore):
            out = self._reserve_or_pass(request)
        else:
            out = await asyncio.to_thread(self._reserve_or_pass, request)
        if isinstance(out, ModelResponse):
            return out
        token = _ACTIVE.set(active)
        try:
            try:
                response = await call_next(out[0])
            except BaseException:
                if out[1] is not None:
                    self._release(out[1])
                raise
            return self._after(out, response)
        finally:
            _ACTIVE.reset(token)
