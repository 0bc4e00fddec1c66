"""``MemoryBudgetStore``: budgets of one process, under one lock."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenomy.budget._store import (
    BudgetStore,
    CounterRow,
    Line,
    Refusal,
    Reservation,
    Settled,
    now,
    reserve_in,
    settle_in,
)

__all__ = ["MemoryBudgetStore"]

#: Every this many reservations, counters of past windows are forgotten.
_SWEEP_EVERY = 4096


@dataclass(slots=True)
class _Counter:
    budget: str
    scope: str
    bucket: str
    expire_at: float
    spent: int = 0
    tokens: int = 0
    alerted: int = 0
    #: rid -> (nanos, tokens, expires at)
    held: dict[str, tuple[int, int, float]] = field(default_factory=dict)


class _MemoryTx:
    __slots__ = ("now", "store")

    def __init__(self, store: MemoryBudgetStore) -> None:
        self.store = store
        self.now = now()

    def _live(self, key: str) -> _Counter | None:
        c = self.store._counters.get(key)
        if c is None:
            return None
        if c.expire_at <= self.now and not c.held:
            del self.store._counters[key]
            return None
        return c

    def totals(self, key: str) -> tuple[int, int, int, int]:
        c = self._live(key)
        if c is None:
            return (0, 0, 0, 0)
        r = rt = 0
        dead = []
        for rid, (n, t, until) in c.held.items():
            if until <= self.now:
                dead.append(rid)
            else:
                r += n
                rt += t
        for rid in dead:
            del c.held[rid]
        return (c.spent, r, c.tokens, rt)

    def _counter(self, line: Line, bucket: str) -> _Counter:
        key = line.key(bucket)
        c = self._live(key)
        if c is None:
            c = _Counter(line.budget, line.scope, bucket, line.expire_at)
            self.store._counters[key] = c
        c.expire_at = max(c.expire_at, line.expire_at)
        return c

    def hold(
        self, line: Line, bucket: str, rid: str, nanos: int, tokens: int, until: float
    ) -> None:
        self._counter(line, bucket).held[rid] = (nanos, tokens, until)

    def take(self, key: str, rid: str) -> tuple[int, int] | None:
        c = self.store._counters.get(key)
        held = None if c is None else c.held.pop(rid, None)
        return None if held is None else (held[0], held[1])

    def spend(self, line: Line, bucket: str, nanos: int, tokens: int) -> tuple[int, int, int]:
        c = self._counter(line, bucket)
        c.spent += nanos
        c.tokens += tokens
        return c.spent, c.tokens, c.alerted

    def set_alerted(self, key: str, mask: int) -> None:
        self.store._counters[key].alerted = mask


class MemoryBudgetStore(BudgetStore):
    """Budget counters in this process's memory, thread-safe (one lock per operation).

    For one process (tests, a single worker); budgets shared by several processes need
    :class:`SQLiteBudgetStore` (one machine) or :class:`RedisBudgetStore`.
    """

    url = "memory://"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, _Counter] = {}
        self._defs: dict[str, dict[str, Any]] = {}
        self._ops = 0

    def _sweep(self) -> None:
        """Forget counters whose window has passed (their keys are never asked for again)."""
        tx = _MemoryTx(self)
        for key in list(self._counters):
            tx.totals(key)  # drops lapsed holds
            tx._live(key)  # drops the counter once expired and holding nothing

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
        with self._lock:
            self._ops += 1
            if not self._ops % _SWEEP_EVERY:
                self._sweep()
            return reserve_in(
                _MemoryTx(self),
                rid,
                lines,
                fixed_nanos=fixed_nanos,
                rate_pico=rate_pico,
                fixed_tokens=fixed_tokens,
                min_out=min_out,
                max_out=max_out,
                ttl=ttl,
            )

    def settle(self, reservation: Reservation, *, nanos: int, tokens: int) -> Settled:
        with self._lock:
            return settle_in(_MemoryTx(self), reservation, nanos=nanos, tokens=tokens)

    def define(self, name: str, definition: dict[str, Any]) -> None:
        with self._lock:
            self._defs[name] = dict(definition)

    def definitions(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._defs.items()}

    def counters(self) -> list[CounterRow]:
        with self._lock:
            tx = _MemoryTx(self)
            rows = []
            for key in list(self._counters):
                spent, reserved, tokens, r_tokens = tx.totals(key)
                c = self._counters.get(key)
                if c is None:
                    continue
                rows.append(
                    CounterRow(
                        c.budget, c.scope, c.bucket, spent, reserved, tokens, r_tokens, len(c.held)
                    )
                )
            return rows
