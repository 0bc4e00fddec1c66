"""``tokenomy.Budget``: a spend limit checked before every call, as a pipeline policy.

Before a call: the worst case of the request (:mod:`._worst`) is reserved atomically in the
budget's store, with ``max_tokens`` capped to what the budget has left (a call that could not
fit even ``min_output_tokens`` is refused before anything is sent). After it: the reservation
is settled to what the call really cost (the pipeline's record of it), or released when the
call failed without being billed. The settle says which soft thresholds the spend crossed for
the first time in this window; their alert hooks run then.

At the hard limit, ``on_exceed``: ``"error"`` raises :class:`~tokenomy.BudgetExceededError`,
``"end"`` answers with ``end_message`` instead of calling, ``"downgrade"`` sends the call to
``downgrade_to`` (also from ``downgrade_at``, a fraction of the limit already used).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import threading
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from tokenomy.budget._alerts import BudgetAlert, alert_hooks, fire
from tokenomy.budget._args import checked_fraction, checked_scope, checked_tokens, checked_usd
from tokenomy.budget._call import actual_cost, capped, one_request, output_range, root_run
from tokenomy.budget._memory import MemoryBudgetStore
from tokenomy.budget._store import (
    BudgetStore,
    Line,
    Refusal,
    Reservation,
    Settled,
    from_nanos,
    now,
    to_nanos,
)
from tokenomy.budget._window import Buckets, Window, parse_window
from tokenomy.budget._worst import Worst, model_output_limit, worst_case
from tokenomy.exceptions import (
    BudgetExceededError,
    BudgetStoreError,
    ConfigurationError,
    UnknownModelPriceError,
)
from tokenomy.pipeline._policy import AsyncCallNext, CallNext, Policy
from tokenomy.pipeline._request import ModelRequest
from tokenomy.pipeline._response import ModelResponse

if TYPE_CHECKING:
    from tokenomy.budget._group import BudgetGroup

__all__ = ["Budget", "OnExceed"]

LOG = logging.getLogger("tokenomy.budget")
OnExceed = Literal["error", "end", "downgrade"]
_ON_EXCEED = ("error", "end", "downgrade")
DEFAULT_THRESHOLDS = (0.5, 0.75, 0.9)
DEFAULT_END_MESSAGE = (
    "Sorry, the budget for this is used up for now, so I can't answer. Please try again later."
)

_default_store: list[BudgetStore] = []
_default_lock = threading.Lock()
#: the live budgets by (store, name): two live budgets with one name must agree
_LIVE: weakref.WeakValueDictionary[tuple[int, str], Budget] = weakref.WeakValueDictionary()
_LIVE_LOCK = threading.Lock()
#: the budgets already holding a reservation for the call in progress
_ACTIVE: contextvars.ContextVar[frozenset[tuple[int, str]]] = contextvars.ContextVar(
    "tokenomy_active_budgets", default=frozenset()
)


def default_budget_store() -> BudgetStore:
    """The process-wide in-memory store budgets use when given none."""
    if not _default_store:
        with _default_lock:
            if not _default_store:
                _default_store.append(MemoryBudgetStore())
    return _default_store[0]


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


@dataclass(frozen=True, slots=True)
class _Plan:
    """One call against this budget: its scope, line, the worst case and the request."""

    scope: dict[str, str]
    buckets: Buckets
    line: Line


class Budget(Policy):
    """A spend limit checked before every call (see the module docstring).

    * ``limit_usd`` (dollars, ``Decimal``-exact) and/or ``limit_tokens`` (input + output).
    * ``window``: ``"request"``, ``"run"``, ``"hour"``, ``"day"``, ``"week"``, ``"month"``,
      ``"rolling:30m"`` or a ``timedelta``; calendar windows in ``tz`` (default UTC).
    * ``scope``: ``None`` (one budget for every call), a tag (``"user"``: one budget per
      user) or a tuple of tags (``("team", "feature")``). A call whose tags lack one of them
      is not counted by this budget (add a global budget to cover every call).
    * ``on_exceed``: ``"error"``, ``"end"`` or ``"downgrade"`` (to ``downgrade_to``, from
      ``downgrade_at`` of the limit used, or when the call would not fit otherwise).
    * ``alerts``: a callable, ``"log"``, a webhook URL or a list, fired once per window at
      each of ``thresholds`` (default 50%, 75%, 90%).
    * ``store``: a :class:`BudgetStore` or URL (``memory://``, ``sqlite:///path``,
      ``redis://host:port/db``); default: one in-memory store per process.
    * ``name``: how the budget is kept in the store (default from scope and window).
    * ``prices``: prices for models the price book does not know (a dollar budget refuses a
      model it cannot price); ``price_book``: the book to price with (default: the enclosing
      ``track()`` block's, else the process default).
    * ``estimate_margin``: added to a prompt count that is an estimate (0.5: +50%, plus 16
      tokens); ``min_output_tokens``: the least a call must be able to answer with;
      ``output_limit``: the output limit of a call that sets none (default: the model's).
    * ``reservation_ttl``: seconds after which a reservation that was never settled (its
      worker died) stops holding the budget. ``fail_open``: when the store is unreachable,
      let calls through unbudgeted (logged each time) instead of refusing them.
    """

    name = "budget"

    def __init__(
        self,
        *,
        limit_usd: Decimal | int | float | str | None = None,
        limit_tokens: int | None = None,
        window: str | Any = "day",
        scope: str | Sequence[str] | None = None,
        on_exceed: OnExceed = "error",
        downgrade_to: str | None = None,
        downgrade_at: float | None = None,
        alerts: Any = None,
        thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
        store: BudgetStore | str | None = None,
        name: str | None = None,
        tz: str | tzinfo | None = None,
        prices: Mapping[str, Any] | None = None,
        price_book: Any = None,
        estimate_margin: float = 0.5,
        min_output_tokens: int = 16,
        output_limit: int | None = None,
        reservation_ttl: float = 600.0,
        fail_open: bool = False,
        end_message: str = DEFAULT_END_MESSAGE,
    ) -> None:
        self.limit_usd = checked_usd(limit_usd)
        self.limit_tokens = checked_tokens(limit_tokens)
        if self.limit_usd is None and self.limit_tokens is None:
            raise ConfigurationError("a Budget needs limit_usd and/or limit_tokens")
        self.window: Window = parse_window(window, tz)
        self.scope: tuple[str, ...] = checked_scope(scope)
        if on_exceed not in _ON_EXCEED:
            raise ConfigurationError(
                f"Budget on_exceed must be one of {', '.join(_ON_EXCEED)}, got {on_exceed!r}"
            )
        self.on_exceed: OnExceed = on_exceed
        if on_exceed == "downgrade" and not downgrade_to:
            raise ConfigurationError("Budget(on_exceed='downgrade') needs downgrade_to=<model>")
        if downgrade_to is not None and (not isinstance(downgrade_to, str) or not downgrade_to):
            raise ConfigurationError(f"Budget downgrade_to must be a model name, got {downgrade_to!r}")
        self.downgrade_to = downgrade_to
        self.downgrade_at = None if downgrade_at is None else checked_fraction("downgrade_at", downgrade_at)
        self.thresholds = tuple(sorted({checked_fraction("thresholds", t) for t in thresholds}))
        if len(self.thresholds) > 30:
            raise ConfigurationError("a Budget takes at most 30 alert thresholds")
        self.hooks = alert_hooks(alerts)
        if isinstance(estimate_margin, bool) or not isinstance(estimate_margin, int | float) or not (
            math.isfinite(estimate_margin) and estimate_margin >= 0
        ):
            raise ConfigurationError(
                f"Budget estimate_margin must be a fraction >= 0, got {estimate_margin!r}"
            )
        self.estimate_margin = float(estimate_margin)
        for label, value in (("min_output_tokens", min_output_tokens), ("output_limit", output_limit)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigurationError(f"Budget {label} must be a whole number >= 1, got {value!r}")
        self.min_output_tokens = min_output_tokens
        self.output_limit = output_limit
        if isinstance(reservation_ttl, bool) or not isinstance(reservation_ttl, int | float) or not (
            math.isfinite(reservation_ttl) and reservation_ttl > 0
        ):
            raise ConfigurationError(
                f"Budget reservation_ttl must be a positive number of seconds, got {reservation_ttl!r}"
            )
        self.reservation_ttl = float(reservation_ttl)
        self.fail_open = bool(fail_open)
        self.end_message = end_message
        self._book = price_book
        self._prices = dict(prices or {})
        self._store_arg = store
        self._store: BudgetStore | None = store if isinstance(store, BudgetStore) else None
        if isinstance(store, str):
            from tokenomy.budget._open import open_budget_store

            self._store = open_budget_store(store)
        elif store is not None and not isinstance(store, BudgetStore):
            raise ConfigurationError(
                f"Budget store must be a BudgetStore or a URL string, got {type(store).__name__}"
            )
        scope_label = "+".join(self.scope) or "global"
        self.budget_name = name or f"{scope_label}:{self.window.label}"
        if not isinstance(self.budget_name, str) or "|" in self.budget_name:
            raise ConfigurationError(f"Budget name must be a string without '|', got {name!r}")
        if self.limit_usd is not None and downgrade_to is not None:
            self._price(downgrade_to, None)  # refused now, not at the first call
        self._defined = False
        self._register()

    # -- identity ------------------------------------------------------------------------

    @property
    def store(self) -> BudgetStore:
        """The store this budget keeps its counters in."""
        return self._store or default_budget_store()

    def definition(self) -> dict[str, Any]:
        """What ``tokenomy budget status`` shows of this budget (JSON-ready)."""
        return {
            "limit_usd": None if self.limit_usd is None else str(self.limit_usd),
            "limit_tokens": self.limit_tokens,
            "window": self.window.label,
            "tz": str(self.window.tz),
            "scope": list(self.scope),
            "thresholds": list(self.thresholds),
        }

    def _register(self) -> None:
        key = (id(self.store), self.budget_name)
        with _LIVE_LOCK:
            other = _LIVE.get(key)
            if other is not None and other.definition() != self.definition():
                raise ConfigurationError(
                    f"overlapping budgets: budget {self.budget_name!r} already exists in "
                    f"{self.store.url} with {other.definition()}, and this one is "
                    f"{self.definition()}; give one of them another name="
                )
            _LIVE[key] = self

    def __repr__(self) -> str:
        limits = []
        if self.limit_usd is not None:
            limits.append(f"limit_usd={str(self.limit_usd)!r}")
        if self.limit_tokens is not None:
            limits.append(f"limit_tokens={self.limit_tokens!r}")
        return (
            f"Budget({', '.join(limits)}, window={self.window.label!r}, "
            f"scope={self.scope or None!r}, on_exceed={self.on_exceed!r}, "
            f"name={self.budget_name!r}, store={self.store.url!r})"
        )

    # -- pricing -------------------------------------------------------------------------

    def _price_book(self) -> Any:
        book = self._book
        if book is None:
            from tokenomy._tracking import current_trackers
            from tokenomy.pricing import get_price_book

            trackers = current_trackers()
            book = (trackers[-1].price_book if trackers else None) or get_price_book()
        return book

    def _price(self, model: str, provider: str | None) -> Any:
        from tokenomy.pricing import ModelPrice

        given = self._prices.get(model)
        if given is not None:
            if not isinstance(given, ModelPrice):
                raise ConfigurationError(
                    f"Budget prices[{model!r}] must be a tokenomy.ModelPrice, got {given!r}"
                )
            return given
        price = self._price_book().lookup(model, provider)
        if price is None and self.limit_usd is not None:
            raise UnknownModelPriceError(model, provider)
        return price

    def worst(self, request: ModelRequest, model: str) -> Worst:
        """The worst case of ``request`` sent to ``model`` (for tests and tools)."""
        price = self._price(model, request.provider)
        limit = self.output_limit or model_output_limit(model, self._price_book(), request.provider)
        return worst_case(request, model, price, margin=self.estimate_margin, output_limit=limit)

    # -- planning ------------------------------------------------------------------------

    def _plan(self, request: ModelRequest, rid: str) -> _Plan | None:
        scope: dict[str, str] = {}
        for tag in self.scope:
            value = request.tag(tag)
            if value is None:
                return None
            scope[tag] = value
        key: str | None = None
        if self.window.kind == "request":
            key = rid
        elif self.window.kind == "run":
            key = root_run(request) or rid
        buckets = self.window.buckets(now(), key=key)
        limit_nanos = None if self.limit_usd is None else to_nanos(self.limit_usd, up=False)
        unit = "usd" if limit_nanos is not None else "tokens"
        base = limit_nanos if limit_nanos is not None else (self.limit_tokens or 0)
        line = Line(
            budget=self.budget_name,
            scope=",".join(f"{k}={_quote(v)}" for k, v in scope.items()),
            buckets=buckets.keys,
            expire_at=buckets.expire_at,
            limit_nanos=limit_nanos,
            limit_tokens=self.limit_tokens,
            alert_at=tuple(math.ceil(base * t) for t in self.thresholds) if self.hooks else (),
            alert_unit=unit,
        )
        return _Plan(scope, buckets, line)

    def _try(self, plan: _Plan, request: ModelRequest, model: str) -> tuple[Worst, Reservation | Refusal]:
        worst = self.worst(request, model)
        max_out, min_out = output_range(request, worst, self.min_output_tokens)
        if self.window.kind == "request":
            return worst, one_request(plan.line, worst, min_out, max_out)
        result = self.store.reserve(
            uuid.uuid4().hex,
            [plan.line],
            fixed_nanos=worst.fixed_nanos,
            rate_pico=worst.rate_pico,
            fixed_tokens=worst.prompt_tokens,
            min_out=min_out,
            max_out=max_out,
            ttl=self.reservation_ttl,
        )
        return worst, result

    def _exceeded(self, plan: _Plan, worst: Worst, refusal: Refusal, request: ModelRequest) -> BudgetExceededError:
        money = refusal.unit == "usd"
        _, min_out = output_range(request, worst, self.min_output_tokens)

        def amount(v: int) -> Decimal | int:
            return from_nanos(v) if money else v

        needed = worst.nanos(min_out) if money else worst.prompt_tokens + min_out
        return BudgetExceededError(
            budget=self.budget_name,
            scope=dict(plan.scope),
            unit=refusal.unit,
            limit=amount(refusal.limit),
            spent=amount(refusal.spent),
            reserved=amount(refusal.reserved),
            needed=amount(needed),
            resets_at=plan.buckets.resets_at,
            model=worst.model,
        )

    def _reserve(
        self, request: ModelRequest
    ) -> tuple[ModelRequest, Reservation | None, _Plan | None] | ModelResponse:
        """The request to send (maybe capped or downgraded) and its reservation, or the
        answer given instead of calling (``on_exceed="end"``); raises when refused."""
        rid = uuid.uuid4().hex
        plan = self._plan(request, rid)
        if plan is None:
            return request, None, None
        self._define_once()
        model = request.model
        if not model:
            if self.limit_usd is not None:
                raise ConfigurationError(
                    "a dollar Budget cannot price a call that names no model: set the model "
                    "on the wrapped client, or use limit_tokens"
                )
            model = "unknown"
        worst, result = self._try(plan, request, model)
        if (
            isinstance(result, Reservation)
            and result.used
            and self._past_downgrade_at(plan, result.used[0], model)
        ):
            self.store.settle(result, nanos=0, tokens=0)
            result = Refusal(0, plan.line.alert_unit, 0, result.used[0], 0)
        if isinstance(result, Refusal):
            if self.on_exceed == "downgrade" and self.downgrade_to and model != self.downgrade_to:
                LOG.info("budget %r: %s downgraded to %s", self.budget_name, model, self.downgrade_to)
                request = request.replace(model=self.downgrade_to).with_tags(
                    budget_downgraded_from=model
                )
                worst, result = self._try(plan, request, self.downgrade_to)
            if isinstance(result, Refusal):
                error = self._exceeded(plan, worst, result, request)
                if self.on_exceed == "end":
                    LOG.info("budget %r: call ended: %s", self.budget_name, error)
                    return self._ended(request)
                raise error
        return capped(request, result), result, plan

    # -- settling ------------------------------------------------------------------------

    def _settle(self, held: Reservation, plan: _Plan, response: ModelResponse | None) -> None:
        nanos, tokens = actual_cost(self.budget_name, held, response)

        def fire_alerts(settled: Settled) -> None:
            for _, j, spent in settled.fired:
                self._alert(plan, j, spent)

        try:  # off the caller's path where the store can (its hold counts until then)
            self.store.settle_later(held, nanos=nanos, tokens=tokens, then=fire_alerts)
        except BudgetStoreError as exc:
            LOG.error("budget %r: could not settle a call (its reservation will lapse): %s",
                      self.budget_name, exc)

    def _alert(self, plan: _Plan, j: int, spent: int) -> None:
        """Fire this budget's hooks: threshold ``j`` crossed at ``spent`` (nanos or tokens)."""
        money = plan.line.alert_unit == "usd"
        fire(
            self.hooks,
            BudgetAlert(
                budget=self.budget_name,
                scope=dict(plan.scope),
                threshold=self.thresholds[j],
                unit=plan.line.alert_unit,
                limit=self.limit_usd if money and self.limit_usd is not None else (self.limit_tokens or 0),
                spent=from_nanos(spent) if money else spent,
                resets_at=plan.buckets.resets_at,
            ),
        )

    def _define_once(self) -> None:
        if not self._defined and self.window.kind != "request":
            self.store.define(self.budget_name, self.definition())
            self._defined = True

    def _ended(self, request: ModelRequest) -> ModelResponse:
        """The answer ``on_exceed="end"`` gives instead of calling."""
        answer = ModelResponse(
            message={"role": "assistant", "content": self.end_message},
            model=request.model,
            provider=request.provider,
            finish_reason="budget_exceeded",
        )
        return ModelResponse.replay(answer, stream=True) if request.stream else answer

    def _past_downgrade_at(self, plan: _Plan, used: int, model: str) -> bool:
        """Whether ``used`` (of this budget's line) is past ``downgrade_at`` for ``model``."""
        if self.on_exceed != "downgrade" or self.downgrade_at is None or model == self.downgrade_to:
            return False
        limit = plan.line.limit_nanos if plan.line.limit_nanos is not None else self.limit_tokens
        return bool(limit) and used >= self.downgrade_at * (limit or 0)

    def __and__(self, other: object) -> BudgetGroup:
        """``a & b``: one policy that reserves against both budgets in one atomic step."""
        from tokenomy.budget._group import BudgetGroup

        if not isinstance(other, Budget | BudgetGroup):
            return NotImplemented
        return BudgetGroup([self, other])

    def _release(self, held: Reservation) -> None:
        try:
            self.store.settle_later(held, nanos=0, tokens=0)
        except BudgetStoreError as exc:
            LOG.error("budget %r: could not release a reservation (it will lapse): %s",
                      self.budget_name, exc)

    # -- the policy ----------------------------------------------------------------------

    def _active(self) -> frozenset[tuple[int, str]]:
        key = (id(self.store), self.budget_name)
        active = _ACTIVE.get()
        if key in active:
            raise ConfigurationError(
                f"budget {self.budget_name!r} applies twice to one call (two Budget policies "
                "with one name in one store): remove one, or name them apart"
            )
        return active | {key}

    def _reserve_or_pass(
        self, request: ModelRequest
    ) -> tuple[ModelRequest, Reservation | None, _Plan | None] | ModelResponse:
        try:
            return self._reserve(request)
        except BudgetStoreError as exc:
            if not self.fail_open:
                raise
            LOG.warning("budget %r: store unavailable, call let through unbudgeted "
                        "(fail_open=True): %s", self.budget_name, exc)
            return request, None, None

    def _enter(self, request: ModelRequest) -> Any:
        active = self._active()
        return self._reserve_or_pass(request), _ACTIVE.set(active)

    def _after(self, held: Reservation | None, plan: _Plan | None, response: ModelResponse) -> ModelResponse:
        if held is not None and plan is not None and held.lines:
            response.on_complete(lambda resp, _error: self._settle(held, plan, resp))
        return response

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        out, token = self._enter(request)
        try:
            if isinstance(out, ModelResponse):
                return out
            request, held, plan = out
            try:
                response = call_next(request)
            except BaseException:
                if held is not None and held.lines:
                    self._release(held)
                raise
            return self._after(held, plan, response)
        finally:
            _ACTIVE.reset(token)

    async def ahandle(self, request: ModelRequest, call_next: AsyncCallNext) -> ModelResponse:
        active = self._active()
        if isinstance(self.store, MemoryBudgetStore):
            out = self._reserve_or_pass(request)
        else:  # a network round trip or a SQLite lock wait: off the event loop
            out = await asyncio.to_thread(self._reserve_or_pass, request)
        token = _ACTIVE.set(active)
        try:
            if isinstance(out, ModelResponse):
                return out
            request, held, plan = out
            try:
                response = await call_next(request)
            except BaseException:
                if held is not None and held.lines:
                    self._release(held)
                raise
            return self._after(held, plan, response)
        finally:
            _ACTIVE.reset(token)
