"""``BudgetStore``: where budgets keep their counters, and the one rule every store applies.

Money is kept in whole nano-dollars (``1e-9`` USD, an ``int``): exact in Python, SQLite and
Redis (whose Lua numbers are doubles, exact to 2**53 nano-dollars, about $9 million: the
largest limit a budget takes). A cost is rounded *up* to the next nano-dollar, so a budget
counts at most $0.000000001 per call more than the ledger, never less.

A store keeps, per counter (budget name, scope, window bucket), the settled spend, the open
reservations (each with an expiry, so a worker that died mid-call frees the budget after the
reservation's time to live) and which alert thresholds have fired. Two operations change it,
each atomic (one lock, one SQLite transaction, one Redis script):

* :meth:`BudgetStore.reserve`: against every line (budget) at once, find the largest output
  token count ``n <= max_out`` whose worst-case cost fits what each line has left, refuse
  when even ``min_out`` does not fit, else hold ``fixed + n * rate`` on every line.
* :meth:`BudgetStore.settle`: drop the reservation, add what the call really cost, and say
  which alert thresholds the new spend crossed for the first time in this window.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Protocol

__all__ = [
    "MAX_NANOS",
    "BudgetStore",
    "CounterRow",
    "Line",
    "Refusal",
    "Reservation",
    "Settled",
    "cost_of",
    "from_nanos",
    "to_nanos",
]

_NANO = Decimal("1e-9")
#: The largest amount a store keeps exactly (2**53 nano-dollars, about $9.007 million).
MAX_NANOS = 2**53


def to_nanos(usd: Decimal, *, up: bool = True) -> int:
    """USD as whole nano-dollars, rounded up (costs) or down (``up=False``: limits)."""
    return int((usd / _NANO).to_integral_value(ROUND_CEILING if up else ROUND_FLOOR))


def from_nanos(nanos: int) -> Decimal:
    """Whole nano-dollars as USD."""
    return (Decimal(nanos) * _NANO).normalize() if nanos else Decimal(0)


def cost_of(n_out: int, fixed_nanos: int, rate_pico: int) -> int:
    """The worst-case nano-dollars of a call: ``fixed`` plus ``n_out`` output tokens at
    ``rate_pico`` pico-dollars each, rounded up."""
    return fixed_nanos + -(-n_out * rate_pico // 1000)


@dataclass(frozen=True, slots=True)
class Line:
    """One budget a call counts against: its counters (``buckets``, current first), when the
    store may forget them (unix seconds), its limits (``None``: no limit in that unit) and
    the alert thresholds, as amounts in the unit of ``alert_unit`` (``"usd"`` in nanos, or
    ``"tokens"``)."""

    budget: str
    scope: str
    buckets: tuple[str, ...]
    expire_at: float
    limit_nanos: int | None = None
    limit_tokens: int | None = None
    alert_at: tuple[int, ...] = ()
    alert_unit: str = "usd"

    def key(self, bucket: str) -> str:
        return f"{self.budget}|{self.scope}|{bucket}"


@dataclass(frozen=True, slots=True)
class Reservation:
    """What :meth:`BudgetStore.reserve` held: ``out_tokens`` output tokens may be generated;
    ``nanos``/``tokens`` are held on every line."""

    rid: str
    lines: tuple[Line, ...]
    out_tokens: int
    nanos: int
    tokens: int
    #: per line, what was spent and held before this reservation, in its alert unit
    used: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why :meth:`BudgetStore.reserve` held nothing: line ``index`` has too little left in
    ``unit`` (``"usd"``: amounts in nanos; ``"tokens"``)."""

    index: int
    unit: str
    limit: int
    spent: int
    reserved: int


@dataclass(frozen=True, slots=True)
class Settled:
    """Alert thresholds crossed for the first time by a settle: ``(line index, threshold
    index, spent after)`` each."""

    fired: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class CounterRow:
    """One counter as ``budget status`` shows it (amounts in nanos and tokens)."""

    budget: str
    scope: str
    bucket: str
    spent_nanos: int
    reserved_nanos: int
    spent_tokens: int
    reserved_tokens: int
    open_reservations: int


def decide(
    lines: Sequence[Line],
    totals: Sequence[tuple[int, int, int, int]],
    *,
    fixed_nanos: int,
    rate_pico: int,
    fixed_tokens: int,
    min_out: int,
    max_out: int,
) -> int | Refusal:
    """The output tokens a call may reserve against ``lines`` whose counters hold ``totals``
    (spent nanos, reserved nanos, spent tokens, reserved tokens each), or why none."""
    n = max_out
    for i, (line, (spent, reserved, t_spent, t_reserved)) in enumerate(
        zip(lines, totals, strict=True)
    ):
        if line.limit_nanos is not None:
            avail = line.limit_nanos - spent - reserved - fixed_nanos
            if avail < 0:
                cap = -1
            elif rate_pico <= 0:
                cap = n
            else:
                cap = avail * 1000 // rate_pico
            if cap < min_out:
                return Refusal(i, "usd", line.limit_nanos, spent, reserved)
            n = min(n, cap)
        if line.limit_tokens is not None:
            cap = line.limit_tokens - t_spent - t_reserved - fixed_tokens
            if cap < min_out:
                return Refusal(i, "tokens", line.limit_tokens, t_spent, t_reserved)
            n = min(n, cap)
    return n


def crossed(line: Line, already: int, spent_nanos: int, spent_tokens: int) -> tuple[int, list[int]]:
    """The alert bitmask after a settle and the thresholds newly crossed."""
    base = spent_nanos if line.alert_unit == "usd" else spent_tokens
    fired = []
    for j, amount in enumerate(line.alert_at):
        bit = 1 << j
        if base >= amount and not already & bit:
            already |= bit
            fired.append(j)
    return already, fired


class BudgetStore(ABC):
    """Where budgets keep their counters (see the module docstring). The bundled stores are
    :class:`MemoryBudgetStore` (one process), :class:`SQLiteBudgetStore` (the processes of
    one machine) and :class:`RedisBudgetStore` (several machines); :func:`open_budget_store`
    picks one from a URL. All pass one conformance suite."""

    #: How the store is named in errors and ``budget status`` (its URL, without secrets).
    url: str = "budget-store"

    @abstractmethod
    def reserve(
        self,
        rid: str,
        lines: Sequence[Line],
        *,
        fixed_nanos: int,
        rate_pico: int,
        fixed_tokens: int,
        min_out: int,
        max_out: int,
        ttl: float,
    ) -> Reservation | Refusal:
        """Atomically hold the worst case of one call on every line, or refuse (module
        docstring); the reservation lapses after ``ttl`` seconds unless settled."""

    @abstractmethod
    def settle(self, reservation: Reservation, *, nanos: int, tokens: int) -> Settled:
        """Atomically drop ``reservation`` and add what the call cost (``0`` releases it)."""

    def settle_later(
        self,
        reservation: Reservation,
        *,
        nanos: int,
        tokens: int,
        then: Callable[[Settled], None] | None = None,
    ) -> None:
        """Settle ``reservation`` now or soon, off the caller's path where the store can:
        ``then(settled)`` runs once it is applied (on whichever thread applied it). Until
        then the reservation's hold stays counted, so a pending settle never lets a budget
        be passed. The default settles at once (errors raise, as :meth:`settle`'s);
        :class:`RedisBudgetStore` queues it for its next reserve's round trip or its
        background flusher. :meth:`flush` and :meth:`close` apply whatever is queued."""
        settled = self.settle(reservation, nanos=nanos, tokens=tokens)
        if then is not None:
            then(settled)

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Apply every settle :meth:`settle_later` queued (a no-op for stores that queue
        none)."""

    @abstractmethod
    def define(self, name: str, definition: dict[str, Any]) -> None:
        """Record (or replace) a budget's definition (limits, window, scope) under ``name``,
        for ``tokenomy budget status``."""

    @abstractmethod
    def definitions(self) -> dict[str, dict[str, Any]]:
        """Every budget defined in this store, by name."""

    @abstractmethod
    def counters(self) -> list[CounterRow]:
        """Every counter the store still keeps (open reservations past their expiry are not
        counted)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections (a no-op for stores that hold none)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


# -- the rule over a key-value transaction, shared by the memory and SQLite stores ---------


class Tx(Protocol):
    """One atomic step over a store's counters (held lock / open transaction)."""

    now: float

    def totals(self, key: str) -> tuple[int, int, int, int]: ...
    def hold(self, line: Line, bucket: str, rid: str, nanos: int, tokens: int, until: float) -> None: ...
    def take(self, key: str, rid: str) -> tuple[int, int] | None: ...
    def spend(self, line: Line, bucket: str, nanos: int, tokens: int) -> tuple[int, int, int]: ...
    def set_alerted(self, key: str, mask: int) -> None: ...


def reserve_in(
    tx: Tx,
    rid: str,
    lines: Sequence[Line],
    *,
    fixed_nanos: int,
    rate_pico: int,
    fixed_tokens: int,
    min_out: int,
    max_out: int,
    ttl: float,
) -> Reservation | Refusal:
    """:meth:`BudgetStore.reserve` over one transaction."""
    totals: list[tuple[int, int, int, int]] = []
    for line in lines:
        buckets = line.buckets
        if len(buckets) == 1:
            totals.append(tx.totals(line.key(buckets[0])))
            continue
        spent = held = t_spent = t_held = 0
        for bucket in buckets:
            a, b, c, d = tx.totals(line.key(bucket))
            spent, held, t_spent, t_held = spent + a, held + b, t_spent + c, t_held + d
        totals.append((spent, held, t_spent, t_held))
    n = decide(
        lines,
        totals,
        fixed_nanos=fixed_nanos,
        rate_pico=rate_pico,
        fixed_tokens=fixed_tokens,
        min_out=min_out,
        max_out=max_out,
    )
    if isinstance(n, Refusal):
        return n
    nanos, tokens = cost_of(n, fixed_nanos, rate_pico), fixed_tokens + n
    until = tx.now + ttl
    for line in lines:
        tx.hold(line, line.buckets[0], rid, nanos, tokens, until)
    used = tuple(
        [
            (t[0] + t[1]) if line.alert_unit == "usd" else (t[2] + t[3])
            for line, t in zip(lines, totals, strict=True)
        ]
    )
    return Reservation(rid, tuple(lines), n, nanos, tokens, used)


def settle_in(tx: Tx, reservation: Reservation, *, nanos: int, tokens: int) -> Settled:
    """:meth:`BudgetStore.settle` over one transaction."""
    fired: list[tuple[int, int, int]] = []
    for i, line in enumerate(reservation.lines):
        bucket = line.buckets[0]
        key = line.key(bucket)
        tx.take(key, reservation.rid)
        spent, t_spent, mask = tx.spend(line, bucket, nanos, tokens)
        if line.alert_at:
            new_mask, new = crossed(line, mask, spent, t_spent)
            if new:
                tx.set_alerted(key, new_mask)
                base = spent if line.alert_unit == "usd" else t_spent
                fired.extend((i, j, base) for j in new)
    return Settled(tuple(fired))


def now() -> float:
    """Unix time in seconds (a function, so tests can see what stores use)."""
    return time.time()
