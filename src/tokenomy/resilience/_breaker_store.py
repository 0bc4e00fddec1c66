"""Where circuit breakers keep their state: this process (:class:`MemoryBreakerStore`) or a
Redis server shared by every process (:class:`RedisBreakerStore`); ``open_breaker_store(url)``
picks one from ``memory://`` / ``redis://host:port/db?prefix=ns``.

A breaker's state per key (``provider/model``) is ``(state, failures, opened_at, trial_at)``;
each step is one atomic operation (a lock here, a Lua script on Redis), so two processes
never both take the half-open trial. Times are wall-clock seconds (``time.time()``), given by
the caller, so that processes agree and tests can move them.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

from tokenomy.exceptions import ConfigurationError, MissingDependencyError

__all__ = [
    "BreakerState",
    "BreakerStore",
    "MemoryBreakerStore",
    "RedisBreakerStore",
    "open_breaker_store",
]

State = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class BreakerState:
    """One key's state: ``failures`` in a row, ``opened_at``/``trial_at`` (epoch seconds)."""

    state: State = "closed"
    failures: int = 0
    opened_at: float = 0.0
    trial_at: float = 0.0


class BreakerStore(ABC):
    """The extension point: four atomic steps on one key's :class:`BreakerState`."""

    @abstractmethod
    def get(self, key: str) -> BreakerState:
        """The key's state (closed when never seen)."""

    @abstractmethod
    def failure(self, key: str, *, threshold: int, now: float) -> BreakerState:
        """One more failure: opens at ``threshold`` in a row; a failed trial re-opens."""

    @abstractmethod
    def success(self, key: str) -> None:
        """A call succeeded: closed, failures back to 0."""

    @abstractmethod
    def acquire(self, key: str, *, now: float, reset_after: float) -> bool:
        """May a call go through now? Closed: yes. Open for ``reset_after`` s (or a trial
        hung that long): yes for this one caller, the half-open trial. Otherwise no."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release connections."""


class MemoryBreakerStore(BreakerStore):
    """This process's state (thread-safe)."""

    def __init__(self) -> None:
        self._states: dict[str, BreakerState] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> BreakerState:
        with self._lock:
            return self._states.get(key, BreakerState())

    def failure(self, key: str, *, threshold: int, now: float) -> BreakerState:
        with self._lock:
            old = self._states.get(key, BreakerState())
            failures = old.failures + 1
            if old.state == "half_open" or failures >= threshold:
                new = BreakerState("open", failures, now, 0.0)
            else:
                new = BreakerState(old.state, failures, old.opened_at, old.trial_at)
            self._states[key] = new
            return new

    def success(self, key: str) -> None:
        with self._lock:
            self._states.pop(key, None)

    def acquire(self, key: str, *, now: float, reset_after: float) -> bool:
        with self._lock:
            old = self._states.get(key, BreakerState())
            if old.state == "closed":
                return True
            since = old.opened_at if old.state == "open" else old.trial_at
            if now - since < reset_after:
                return False
            self._states[key] = BreakerState("half_open", old.failures, old.opened_at, now)
            return True


_FAILURE = r"""
local k = KEYS[1]
local state = redis.call('HGET', k, 's') or 'closed'
local failures = tonumber(redis.call('HGET', k, 'f') or '0') + 1
if state == 'half_open' or failures >= tonumber(ARGV[1]) then
  redis.call('HSET', k, 's', 'open', 'f', failures, 'o', ARGV[2], 't', '0')
else
  redis.call('HSET', k, 'f', failures)
end
redis.call('EXPIRE', k, ARGV[3])
return redis.call('HMGET', k, 's', 'f', 'o', 't')
"""

_ACQUIRE = r"""
local k = KEYS[1]
local state = redis.call('HGET', k, 's') or 'closed'
if state == 'closed' then return 1 end
local since = tonumber(redis.call('HGET', k, state == 'open' and 'o' or 't') or '0')
if tonumber(ARGV[1]) - since < tonumber(ARGV[2]) then return 0 end
redis.call('HSET', k, 's', 'half_open', 't', ARGV[1])
redis.call('EXPIRE', k, ARGV[3])
return 1
"""


class RedisBreakerStore(BreakerStore):
    """Breaker state on a Redis server, shared by every process that uses the same
    ``prefix`` (keys ``{prefix}:{provider/model}``, each a hash that expires after ``ttl``
    seconds untouched)."""

    def __init__(
        self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str | None = None,
        timeout: float = 2.0, ttl: int = 86400, client: Any = None,
    ) -> None:
        parts = urlsplit(url)
        prefix = prefix or (parse_qs(parts.query).get("prefix") or ["tokenomy:breaker"])[0]
        if not prefix or any(c in prefix for c in "*?[] "):
            raise ConfigurationError(
                f"a Redis breaker prefix must be non-empty, without spaces or glob "
                f"characters, got {prefix!r}"
            )
        self.prefix = prefix
        self.ttl = int(ttl)
        self.url = urlunsplit((parts.scheme, parts.netloc, parts.path, f"prefix={prefix}", ""))
        if client is None:
            try:
                import redis
            except ImportError as exc:  # pragma: no cover - the extra is installed in tests
                raise MissingDependencyError("redis", "redis", "RedisBreakerStore") from exc
            plain = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
            client = redis.Redis.from_url(
                plain, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        self.client = client
        self._failure = client.register_script(_FAILURE)
        self._acquire = client.register_script(_ACQUIRE)

    def __repr__(self) -> str:
        return f"RedisBreakerStore({self.url!r})"

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    @staticmethod
    def _state(values: Any) -> BreakerState:
        s, f, o, t = (v.decode() if isinstance(v, bytes) else v for v in values)
        state: State = "open" if s == "open" else "half_open" if s == "half_open" else "closed"
        return BreakerState(state, int(f or 0), float(o or 0), float(t or 0))

    def get(self, key: str) -> BreakerState:
        return self._state(self.client.hmget(self._key(key), "s", "f", "o", "t"))

    def failure(self, key: str, *, threshold: int, now: float) -> BreakerState:
        return self._state(self._failure(keys=[self._key(key)], args=[threshold, repr(now), self.ttl]))

    def success(self, key: str) -> None:
        self.client.delete(self._key(key))

    def acquire(self, key: str, *, now: float, reset_after: float) -> bool:
        return bool(self._acquire(keys=[self._key(key)], args=[repr(now), repr(reset_after), self.ttl]))

    def close(self) -> None:
        self.client.close()


_DEFAULT = MemoryBreakerStore()


def open_breaker_store(url: str | BreakerStore | None = None, **options: Any) -> BreakerStore:
    """``None``/``"memory://"``: this process's shared store; ``redis://...``: a
    :class:`RedisBreakerStore` (``options`` go to it); a store is returned as it is."""
    if url is None or isinstance(url, BreakerStore):
        return url or _DEFAULT
    text = str(url).strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme == "memory":
        return _DEFAULT
    if scheme in ("redis", "rediss", "unix"):
        return RedisBreakerStore(text, **options)
    raise ConfigurationError(
        f"unknown circuit breaker store {url!r}: use memory:// or redis://host:port/db"
    )
