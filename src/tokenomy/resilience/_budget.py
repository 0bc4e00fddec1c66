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
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tokenomy.exceptions import ConfigurationError, MissingDependencyError
from tokenomy.resilience._clock import Clock, real_clock

__all__ = ["RedisRetryBudget", "RetryBudget", "RetryBudgetExhausted"]

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
            requests, retries = len(self._requests), len(self._retries)
        self._refused(requests, retries, now)
        return False

    def _refused(self, requests: int, retries: int, now: float) -> None:
        with self._lock:
            self.refused += 1
            alert = self._alerted_at is None or now - self._alerted_at >= self.window
            if alert:
                self._alerted_at = now
        if not alert:
            return
        event = RetryBudgetExhausted(
            requests=requests, retries=retries, ratio=self.ratio, window=self.window, at=now
        )
        _log.warning(
            "retry budget exhausted: %d retries for %d requests in the last %.0f s "
            "(allowed %.0f%%); failures are raised without retrying",
            event.retries, event.requests, event.window, event.ratio * 100,
        )
        if self.on_exhausted is not None:
            self.on_exhausted(event)

    @property
    def counts(self) -> tuple[int, int]:
        """(requests, retries) in the current window."""
        with self._lock:
            self._trim(self.clock())
            return len(self._requests), len(self._retries)


_TAKE = r"""
local edge = tonumber(ARGV[1]) - tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', edge)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', edge)
local req = redis.call('ZCARD', KEYS[1])
local ret = redis.call('ZCARD', KEYS[2])
if ARGV[6] == 'request' then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
  return {1, req + 1, ret}
end
if ret + 1 <= math.max(tonumber(ARGV[3]) * req, tonumber(ARGV[4])) then
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[5])
  redis.call('EXPIRE', KEYS[2], math.ceil(tonumber(ARGV[2])) + 1)
  return {1, req, ret + 1}
end
return {0, req, ret}
"""


class RedisRetryBudget(RetryBudget):
    """A :class:`RetryBudget` shared by every process using the same Redis ``prefix``: two
    sorted sets (``{prefix}:req``, ``{prefix}:retry``) of wall-clock times, trimmed and
    checked in one Lua script per step. ``clock`` defaults to ``time.time`` (processes must
    agree on it)."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "tokenomy:retry-budget",
        timeout: float = 2.0,
        client: Any = None,
        **options: Any,
    ) -> None:
        options.setdefault("clock", time.time)
        super().__init__(**options)
        if client is None:
            try:
                import redis
            except ImportError as exc:  # pragma: no cover - the extra is installed in tests
                raise MissingDependencyError("redis", "redis", "RedisRetryBudget") from exc
            client = redis.Redis.from_url(url, socket_timeout=timeout,
                                          socket_connect_timeout=timeout)
        self.client = client
        self.prefix = prefix
        self._take = client.register_script(_TAKE)

    def _run(self, what: str) -> tuple[bool, int, int]:
        now = self.clock()
        ok, req, ret = self._take(
            keys=[f"{self.prefix}:req", f"{self.prefix}:retry"],
            args=[repr(now), repr(self.window), repr(self.ratio), self.min_retries,
                  uuid.uuid4().hex, what],
        )
        return bool(ok), int(req), int(ret)

    def record_request(self) -> None:
        self._run("request")

    def try_retry(self) -> bool:
        ok, req, ret = self._run("retry")
        if not ok:
            self._refused(req, ret, self.clock())
        return ok

    @property
    def counts(self) -> tuple[int, int]:
        now = self.clock()
        edge = now - self.window
        req = int(self.client.zcount(f"{self.prefix}:req", f"({edge}", "+inf"))
        ret = int(self.client.zcount(f"{self.prefix}:retry", f"({edge}", "+inf"))
        return req, ret
