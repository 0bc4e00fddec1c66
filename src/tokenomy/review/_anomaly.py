"""Anomalies: spend spikes, jumps and runaway loops, in a ledger and as calls arrive.

In a reviewed period (:func:`find_anomalies`, ``tokenomy review --alerts``):

* ``hour_spike``: an hour whose spend exceeds ``factor`` (default 2) x the usual for that hour
  of the day (the median of the same hour on the period's other days; with fewer than 3 of
  them, the median of every other hour) and at least ``min_usd``;
* ``feature_jump`` / ``user_jump``: a feature or user whose spend on the period's last day
  exceeds ``factor`` x its mean over the days before (at least 2) and ``min_usd``;
* ``runaway``: a run (root run) with more than ``max(runaway_factor x median, median + 20)``
  calls, the median over the runs of the same feature (or ``run_name``) in the period.

In process (:class:`SpendMonitor`, put around any ledger with :class:`AlertingLedger`): every
stored call is counted in a window of ``window_s`` seconds (default 300) by the call's own
timestamp; a run passing ``runaway_calls`` calls in one window fires ``runaway`` at once (on
that call), and a window whose spend passes ``factor`` x the mean of the earlier windows (and
``min_usd``) fires ``spend_spike`` at once. Hooks are the budget alerts' kinds: a callable
(given the :class:`Anomaly`), ``"log"``, or an ``http(s)://`` webhook (POSTed JSON).
"""

from __future__ import annotations

import logging
import statistics
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy._webhook import post_json_later
from tokenomy.exceptions import ConfigurationError
from tokenomy.ledger._store import LedgerStore

if TYPE_CHECKING:
    from tokenomy.ledger import CostRecord, RecordFilter
    from tokenomy.ledger._stored import StoredCall
    from tokenomy.review._facts import Facts

__all__ = ["AlertingLedger", "Anomaly", "SpendMonitor", "anomaly_hooks", "find_anomalies"]

LOG = logging.getLogger("tokenomy.review")
_ZERO = Decimal(0)
_HOUR_US = 3_600_000_000


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One anomaly: its kind, what it is about, and the numbers."""

    kind: str
    subject: str
    value: float
    usual: float
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "value": self.value,
            "usual": self.usual,
            "detail": dict(self.detail),
        }

    def describe(self) -> str:
        if self.kind == "runaway":
            return f"runaway run {self.subject}: {self.value:g} calls, peers {self.usual:g}"
        return f"{self.kind} {self.subject}: ${self.value:.4f} against ${self.usual:.4f} usual"


def _hour_text(h: int) -> str:
    return datetime.fromtimestamp(h * 3600, UTC).strftime("%Y-%m-%dT%H")


def find_anomalies(
    facts: Facts,
    *,
    factor: float = 2.0,
    min_usd: float = 0.01,
    runaway_factor: float = 10.0,
) -> list[Anomaly]:
    """The anomalies of a period's facts (see the module docstring)."""
    out: list[Anomaly] = []
    hours: dict[int, float] = {}
    days: dict[str, dict[int, float]] = {"feature": {}, "user": {}}
    per: dict[str, dict[str, dict[int, float]]] = {"feature": {}, "user": {}}
    for (h, key), (_n, cost) in facts.hourly.items():
        c = float(cost)
        hours[h] = hours.get(h, 0.0) + c
        day = h // 24
        for i, dim in ((0, "feature"), (1, "user")):
            name = key[i]
            if name is not None:
                slot = per[dim].setdefault(name, {})
                slot[day] = slot.get(day, 0.0) + c
            days[dim][day] = 0.0
    if hours and max(hours) - min(hours) >= 47:  # "usual" needs two days of history
        first, last = min(hours), max(hours)
        series = {h: hours.get(h, 0.0) for h in range(first, last + 1)}
        for h, spend in sorted(series.items()):
            same = [v for k, v in series.items() if k % 24 == h % 24 and k != h]
            usual = statistics.median(same if len(same) >= 3 else [v for k, v in series.items() if k != h] or [0.0])
            if spend >= min_usd and spend > factor * usual:
                out.append(
                    Anomaly("hour_spike", _hour_text(h), round(spend, 6), round(usual, 6),
                            {"factor": factor})
                )
    for dim in ("feature", "user"):
        all_days = sorted(days[dim])
        if len(all_days) < 3:
            continue
        last_day = all_days[-1]
        for name, series_d in sorted(per[dim].items()):
            before = [series_d.get(d, 0.0) for d in all_days[:-1]]
            mean = sum(before) / len(before)
            spend = series_d.get(last_day, 0.0)
            if spend >= min_usd and spend > factor * mean:
                out.append(
                    Anomaly(f"{dim}_jump", name, round(spend, 6), round(mean, 6),
                            {"day": datetime.fromtimestamp(last_day * 86400, UTC).date().isoformat()})
                )
    # runaway loops: runs far above their peers' median size
    peers: dict[str | None, list[tuple[int, int]]] = {}
    for (key, n), (runs, _c, _s) in facts.run_sizes.items():
        peers.setdefault(key[0] or key[6], []).append((n, runs))
    medians: dict[str | None, float] = {}
    for group, sizes in peers.items():
        sizes.sort()
        total = sum(r for _, r in sizes)
        seen = 0
        for n, r in sizes:
            seen += r
            if seen * 2 >= total:
                medians[group] = float(n)
                break
    for run_key, key, n, cost, t0, t1 in facts.big_runs:
        median = medians.get(key[0] or key[6], 1.0)
        if n > max(runaway_factor * median, median + 20):
            out.append(
                Anomaly(
                    "runaway",
                    run_key,
                    float(n),
                    median,
                    {
                        "feature": key[0],
                        "run_name": key[6],
                        "cost_usd": str(cost),
                        "first": datetime.fromtimestamp(t0 / 1e6, UTC).isoformat(),
                        "last": datetime.fromtimestamp(t1 / 1e6, UTC).isoformat(),
                    },
                )
            )
    return out


# -- hooks -----------------------------------------------------------------------------------

Hook = Callable[[Anomaly], Any]


def _log(anomaly: Anomaly) -> None:
    LOG.warning("tokenomy anomaly: %s", anomaly.describe())


def _webhook(url: str, timeout: float = 5.0) -> Hook:
    def post(anomaly: Anomaly) -> None:
        post_json_later(url, anomaly.to_json_dict(), what="anomaly alert", logger=LOG, timeout=timeout)

    return post


def anomaly_hooks(hooks: object) -> tuple[Hook, ...]:
    """The hooks ``hooks`` names: a callable, ``"log"``, an http(s) URL, or a list of them."""
    items: Sequence[object] = hooks if isinstance(hooks, list | tuple) else (hooks,)
    out: list[Hook] = []
    for item in items:
        if isinstance(item, str) and item == "log":
            out.append(_log)
        elif isinstance(item, str) and item.startswith(("http://", "https://")):
            out.append(_webhook(item))
        elif callable(item):
            out.append(item)
        else:
            raise ConfigurationError(
                f"anomaly hooks must be callables, 'log' or http(s):// URLs, got {item!r}"
            )
    return tuple(out)


class SpendMonitor:
    """The in-process detector (see the module docstring); thread-safe. Feed it with
    :meth:`observe` (an :class:`AlertingLedger` does, for every stored call)."""

    def __init__(
        self,
        hooks: object = "log",
        *,
        window_s: float = 300.0,
        runaway_calls: int = 200,
        factor: float = 2.0,
        min_usd: float = 0.01,
    ) -> None:
        if window_s <= 0 or runaway_calls < 1 or factor <= 1:
            raise ConfigurationError(
                f"SpendMonitor needs window_s > 0, runaway_calls >= 1, factor > 1 "
                f"(got {window_s}, {runaway_calls}, {factor})"
            )
        self.hooks = anomaly_hooks(hooks)
        self.window_s = window_s
        self.runaway_calls = runaway_calls
        self.factor = factor
        self.min_usd = min_usd
        self.fired: list[Anomaly] = []
        self._lock = threading.Lock()
        self._window: int | None = None
        self._runs: dict[Any, int] = {}
        self._spend = 0.0
        self._past: list[float] = []
        self._spiked = False

    def observe(self, call: StoredCall) -> None:
        """Count one stored call; fire the hooks for what it makes anomalous."""
        ts = call.timestamp
        seconds = ts if isinstance(ts, float) else ts.timestamp()
        window = int(seconds // self.window_s)
        run = call.root_run_id or call.run_id or call.number
        cost = call.cost_total
        fired: list[Anomaly] = []
        with self._lock:
            if window != self._window:
                if self._window is not None:
                    self._past.append(self._spend)
                    self._past = self._past[-288:]
                self._window, self._runs, self._spend, self._spiked = window, {}, 0.0, False
            n = self._runs[run] = self._runs.get(run, 0) + 1
            if n == self.runaway_calls + 1:
                fired.append(
                    Anomaly("runaway", str(run), float(n), float(self.runaway_calls),
                            {"window_s": self.window_s, "model": call.model})
                )
            if cost is not None:
                self._spend += float(cost)
            if self._past and not self._spiked:
                usual = sum(self._past) / len(self._past)
                if self._spend >= self.min_usd and self._spend > self.factor * usual:
                    self._spiked = True
                    fired.append(
                        Anomaly("spend_spike", f"window {window}", round(self._spend, 6),
                                round(usual, 6), {"window_s": self.window_s})
                    )
            self.fired.extend(fired)
        for anomaly in fired:
            for hook in self.hooks:
                try:
                    hook(anomaly)
                except Exception as exc:
                    LOG.error("anomaly hook %r failed: %s: %s", hook, type(exc).__name__, exc)


class AlertingLedger(LedgerStore):
    """A ledger that shows every stored call to a :class:`SpendMonitor`, then stores it in
    ``inner`` (every read is ``inner``'s)."""

    def __init__(self, inner: LedgerStore, monitor: SpendMonitor) -> None:
        self.inner = inner
        self.monitor = monitor

    def _add_stored(self, stored: StoredCall) -> None:
        self.inner._add_stored(stored)
        self.monitor.observe(stored)

    def add_many(self, records: Iterable[CostRecord]) -> None:
        from tokenomy.ledger._stored import StoredCall

        for r in records:
            self._add_stored(StoredCall.from_record(r))

    def flush(self) -> None:
        self.inner.flush()

    def close(self) -> None:
        self.inner.close()

    def query(
        self, where: RecordFilter | None = None, *, limit: int | None = None, newest_first: bool = False
    ) -> list[CostRecord]:
        return self.inner.query(where, limit=limit, newest_first=newest_first)

    def count(self, where: RecordFilter | None = None) -> int:
        return self.inner.count(where)

    def mark_usable(self, record_id: str, usable: bool) -> bool:
        return self.inner.mark_usable(record_id, usable)

    def aggregate(self, by: Sequence[str] = (), where: RecordFilter | None = None) -> list[Any]:
        return self.inner.aggregate(by, where)

    def iter_records(self, where: RecordFilter | None = None, *, newest_first: bool = False) -> Any:
        return self.inner.iter_records(where, newest_first=newest_first)
