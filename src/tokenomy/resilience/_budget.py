"""``RetryBudget``: retries limited to a share of requests over a sliding window.

Each first attempt counts as a request, each further attempt as a retry. A retry is allowed
while ``retries < max(ratio × requests, min_retries)`` over the last ``window`` seconds (the
floor lets a quiet service still retry a little). When a retry is refused the budget's
``on_exhausted(event)`` hook fires (at most once per window), and the failure is raised as it
is: during an outage, retries stop adding load and cost.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from tokenomy.exceptions import ConfigurationError
from tokenomy.resilience._clock import Clock, real_clock

__all__ = ["RetryBudget", "RetryBudgetExhausted"]

_log = logging.getLogger("tokenomy.resilience")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryBudgetExhausted:
    """What the alert hook gets: the window's counts and the share allowed."""

    requests: int
    retries: int
    ratio: float
    window: float
    at: float


class RetryBudget:
    """A sliding-window retry budget (thread-safe; one per :class:`~tokenomy.Retry` unless
    shared by passing the same object to several)."""

    def __init__(
        self,
        *,
        ratio: float = 0.05,
        window: float = 60.0,
        min_retries: int = 10,
        on_exhausted: Callable[[RetryBudgetExhausted], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not 0.0 <= ratio <= 1.0:
            raise ConfigurationError(f"budget_ratio must be between 0 and 1, got {ratio!r}")
        if window <= 0:
            raise ConfigurationError(f"the retry budget window must be > 0 s, got {window!r}")
        if min_retries < 0:
            raise ConfigurationError(f"min_retries must be >= 0, got {min_retries!r}")
        self.ratio = float(ratio)
        self.window = float(window)
        self.min_retries = int(min_retries)
        self.on_exhausted = on_exhausted
        self.clock: Clock = clock or real_clock
        self._requests: deque[float] = deque()
        self._retries: deque[float] = deque()
        self._alerted_at: float | None = None
        self._lock = threading.Lock()
        #: retries refused since creation
        self.refused = 0

    def __repr__(self) -> str:
        return f"RetryBudget(ratio={self.ratio}, window={self.window}, min_retries={self.min_retries})"

    def _trim(self, now: float) -> None:
        edge = now - self.window
        for times in (self._requests, self._retries):
            while times and times[0] <= edge:
                times.popleft()

    def record_request(self) -> None:
        """A first attempt was made."""
        now = self.clock()
        with self._lock:
            self._trim(now)
            self._requests.append(now)

    def try_retry(self) -> bool:
        """Take one retry from the budget: ``False`` (and the hook fires) when none is left."""
        now = self.clock()
        with self._lock:
            self._trim(now)
            allowed = max(self.ratio * len(self._requests), float(self.min_retries))
            if len(self._retries) + 1 <= allowed:
                self._retries.append(now)
                return True
            self.refused += 1
            alert = self._alerted_at is None or now - self._alerted_at >= self.window
            if alert:
                self._alerted_at = now
            event = RetryBudgetExhausted(
                requests=len(self._requests), retries=len(self._retries),
                ratio=self.ratio, window=self.window, at=now,
            )
        if alert:
            _log.warning(
                "retry budget exhausted: %d retries for %d requests in the last %.0f s "
                "(allowed %.0f%%); failures are raised without retrying",
                event.retries, event.requests, event.window, event.ratio * 100,
            )
            if self.on_exhausted is not None:
                self.on_exhausted(event)
        return False

    @property
    def counts(self) -> tuple[int, int]:
        """(requests, retries) in the current window."""
        with self._lock:
            self._trim(self.clock())
            return len(self._requests), len(self._retries)
