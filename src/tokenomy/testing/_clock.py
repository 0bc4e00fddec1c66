"""``FakeClock``: time that moves only when slept on, for testing waits without waiting.

``Retry(clock=fake, sleep=fake.sleep, async_sleep=fake.asleep)`` and
``CircuitBreaker(clock=fake)``: every wait is noted in ``fake.sleeps`` and moves ``fake()``
forward by exactly that much, at once.
"""

from __future__ import annotations

import threading

__all__ = ["FakeClock"]


class FakeClock:
    """A callable clock (seconds) with ``sleep``/``asleep`` that advance it (thread-safe)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = float(start)
        #: every wait asked for, in order
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward without noting a sleep."""
        with self._lock:
            self.now += float(seconds)

    def sleep(self, seconds: float) -> None:
        """Note the wait and move the clock forward; returns at once."""
        with self._lock:
            self.sleeps.append(float(seconds))
            self.now += float(seconds)

    async def asleep(self, seconds: float) -> None:
        """:meth:`sleep` for async callers."""
        self.sleep(seconds)

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now}, sleeps={len(self.sleeps)})"
