"""How often, and how far apart, a prompt prefix was sent: the evidence placement decides on.

:class:`ReuseSource` is the extension point (``observe`` a sending, read a key's
:class:`ReuseStats`). :class:`InProcessReuse` keeps recent sendings in memory, fed by the
placement policy itself; a ledger-backed source (reading records' prefix hashes) can take
its place without the policy changing.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from dataclasses import dataclass

__all__ = ["InProcessReuse", "ReuseSource", "ReuseStats"]


@dataclass(frozen=True, slots=True)
class ReuseStats:
    """What is known about one prefix key: how many sendings, the last one (seconds on the
    policy's clock, ``None`` when never sent) and the gaps between recent sendings."""

    count: int = 0
    last: float | None = None
    gaps: tuple[float, ...] = ()

    def share_within(self, seconds: float) -> float | None:
        """Share of the observed gaps shorter than ``seconds`` (``None``: no gap seen yet)."""
        if not self.gaps:
            return None
        return sum(1 for g in self.gaps if g < seconds) / len(self.gaps)


class ReuseSource(ABC):
    """Where reuse evidence comes from (see the module docstring). Thread-safe."""

    @abstractmethod
    def observe(self, key: str, at: float) -> None:
        """Note that the prefix ``key`` was sent at time ``at``."""

    @abstractmethod
    def stats(self, key: str) -> ReuseStats:
        """What is known about ``key``."""


class InProcessReuse(ReuseSource):
    """Recent sendings per key in memory: the last ``window`` gaps of at most ``max_keys``
    keys (least recently sent forgotten first)."""

    def __init__(self, *, window: int = 20, max_keys: int = 10_000) -> None:
        self.window = window
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._keys: OrderedDict[str, tuple[int, float, deque[float]]] = OrderedDict()

    def observe(self, key: str, at: float) -> None:
        with self._lock:
            entry = self._keys.pop(key, None)
            if entry is None:
                gaps: deque[float] = deque(maxlen=self.window)
                self._keys[key] = (1, at, gaps)
            else:
                count, last, gaps = entry
                gaps.append(max(at - last, 0.0))
                self._keys[key] = (count + 1, at, gaps)
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)

    def stats(self, key: str) -> ReuseStats:
        with self._lock:
            entry = self._keys.get(key)
            if entry is None:
                return ReuseStats()
            count, last, gaps = entry
            return ReuseStats(count, last, tuple(gaps))

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)
