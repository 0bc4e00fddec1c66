"""Injected failures: what can go wrong with a provider call, and which requests it hits."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Literal

from tokenomy.exceptions import ConfigurationError

__all__ = ["FAULT_HEADER", "Fault", "FaultKind", "FaultPlan", "Injection"]

#: Request header that injects a fault into that one request (e.g. ``x-simulator-fault: 503``).
FAULT_HEADER = "x-simulator-fault"

FaultKind = Literal[
    "error", "timeout", "disconnect", "malformed_json", "truncated_stream", "length"
]

_HEADER_NAMES = {
    "rate_limit": "rate_limit",
    "ratelimit": "rate_limit",
    "timeout": "timeout",
    "disconnect": "disconnect",
    "malformed": "malformed_json",
    "malformed_json": "malformed_json",
    "invalid_json": "malformed_json",
    "truncated": "truncated_stream",
    "truncated_stream": "truncated_stream",
    "length": "length",
    "max_tokens": "length",
    "server_error": "server_error",
    "unavailable": "unavailable",
    "overloaded": "overloaded",
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One failure the simulator can produce instead of (or inside) a normal answer.

    Build one with the class methods (:meth:`rate_limit`, :meth:`server_error`,
    :meth:`unavailable`, :meth:`overloaded`, :meth:`error`, :meth:`timeout`,
    :meth:`disconnect`, :meth:`malformed_json`, :meth:`truncated_stream`, :meth:`length`) and
    hand it to ``ProviderSimulator.inject``.
    """

    kind: FaultKind
    status: int = 200
    message: str | None = None
    retry_after: float | None = None
    hold: float = 0.0
    tokens: int | None = None
    after_events: int | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())

    @property
    def name(self) -> str:
        """Short label recorded on the request it hit (``"429"``, ``"timeout"``, ...)."""
        return str(self.status) if self.kind == "error" else self.kind

    @classmethod
    def error(
        cls,
        status: int,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """An HTTP error response with the provider's error body (any 4xx/5xx ``status``)."""
        if not 400 <= int(status) <= 599:
            raise ConfigurationError(
                f"Fault.error status must be an HTTP error code 400-599, got {status!r}; "
                f"use Fault.length() for a short answer or Fault.timeout() for a stall."
            )
        if retry_after is not None and retry_after < 0:
            raise ConfigurationError(f"retry_after must be >= 0 seconds, got {retry_after!r}")
        return cls(
            kind="error",
            status=int(status),
            message=message,
            retry_after=retry_after,
            headers=tuple(sorted((headers or {}).items())),
        )

    @classmethod
    def rate_limit(cls, retry_after: float | None = 1.0, message: str | None = None) -> Fault:
        """429 with ``retry-after``/``retry-after-ms`` (when given) and x-ratelimit headers."""
        return cls.error(429, message, retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500, message: str | None = None) -> Fault:
        """A 5xx server error (500 by default)."""
        if not 500 <= int(status) <= 599:
            raise ConfigurationError(f"server_error status must be 500-599, got {status!r}")
        return cls.error(status, message)

    @classmethod
    def unavailable(cls, message: str | None = None) -> Fault:
        """503 Service Unavailable."""
        return cls.error(503, message)

    @classmethod
    def overloaded(cls, message: str | None = None) -> Fault:
        """529, Anthropic's ``overloaded_error`` (OpenAI clients see a 5xx server error)."""
        return cls.error(529, message)

    @classmethod
    def timeout(cls, hold: float = 30.0) -> Fault:
        """Hold the connection ``hold`` seconds without answering, then close it.

        Pick ``hold`` longer than the client's timeout to make it raise its timeout error;
        stopping the simulator releases held connections at once.
        """
        if hold <= 0:
            raise ConfigurationError(f"Fault.timeout hold must be > 0 seconds, got {hold!r}")
        return cls(kind="timeout", hold=float(hold))

    @classmethod
    def disconnect(cls) -> Fault:
        """Close the connection without sending a response (a connection error for clients)."""
        return cls(kind="disconnect")

    @classmethod
    def malformed_json(cls) -> Fault:
        """200 whose body (or, when streaming, one event's data) is not valid JSON."""
        return cls(kind="malformed_json")

    @classmethod
    def truncated_stream(cls, after_events: int | None = None) -> Fault:
        """Cut the response off mid-body: a stream after ``after_events`` events (default:
        half of them), a non-streamed body half-way through its declared length."""
        if after_events is not None and after_events < 0:
            raise ConfigurationError(f"after_events must be >= 0, got {after_events!r}")
        return cls(kind="truncated_stream", after_events=after_events)

    @classmethod
    def length(cls, tokens: int | None = None) -> Fault:
        """Stop the answer early: ``finish_reason="length"`` (Anthropic ``"max_tokens"``,
        Responses ``status="incomplete"``), keeping ``tokens`` answer tokens (default half)."""
        if tokens is not None and tokens < 0:
            raise ConfigurationError(f"Fault.length tokens must be >= 0, got {tokens!r}")
        return cls(kind="length", tokens=tokens)

    @classmethod
    def from_header(cls, value: str) -> Fault:
        """Parse an ``x-simulator-fault`` header value.

        ``"429"``, ``"429;retry_after=0.2"``, ``"500"``, ``"503"``, ``"rate_limit"``,
        ``"timeout;hold=5"``, ``"disconnect"``, ``"malformed"``, ``"truncated;after_events=3"``,
        ``"length;tokens=2"``.
        """
        head, *params = [p.strip() for p in value.split(";")]
        options: dict[str, str] = {}
        for param in params:
            key, sep, val = param.partition("=")
            if not sep:
                raise ConfigurationError(f"bad {FAULT_HEADER} parameter {param!r}: use key=value")
            options[key.strip().lower().replace("-", "_")] = val.strip()
        try:
            return _build_from_header(head.lower(), options)
        except (ValueError, TypeError) as exc:
            if isinstance(exc, ConfigurationError):
                raise
            raise ConfigurationError(
                f"bad {FAULT_HEADER} value {value!r}: {exc}. Use a status code (429, 500, 503) "
                f"or one of {sorted(set(_HEADER_NAMES))}, optionally with ;key=value options."
            ) from exc


def _build_from_header(head: str, options: dict[str, str]) -> Fault:
    def num(key: str) -> float | None:
        return float(options[key]) if key in options else None

    if head.isdigit():
        status = int(head)
        if status == 429:
            return Fault.rate_limit(retry_after=num("retry_after"))
        return Fault.error(status, retry_after=num("retry_after"))
    kind = _HEADER_NAMES.get(head)
    if kind is None:
        raise ValueError(f"unknown fault {head!r}")
    if kind == "rate_limit":
        return Fault.rate_limit(retry_after=num("retry_after"))
    if kind == "server_error":
        return Fault.server_error()
    if kind == "unavailable":
        return Fault.unavailable()
    if kind == "overloaded":
        return Fault.overloaded()
    if kind == "timeout":
        return Fault.timeout(hold=num("hold") or 30.0)
    if kind == "disconnect":
        return Fault.disconnect()
    if kind == "malformed_json":
        return Fault.malformed_json()
    if kind == "truncated_stream":
        after = num("after_events")
        return Fault.truncated_stream(None if after is None else int(after))
    tokens = num("tokens")
    return Fault.length(None if tokens is None else int(tokens))


@dataclass(slots=True)
class Injection:
    """A fault queued with ``ProviderSimulator.inject``: which requests it hits, how often.

    ``times=None`` hits every matching request until removed; ``applied`` counts the hits.
    ``path`` and ``model`` are exact strings or glob patterns (``"gpt-4o*"``).
    """

    fault: Fault
    times: int | None = 1
    path: str | None = None
    model: str | None = None
    applied: int = 0

    @property
    def remaining(self) -> int | None:
        """Hits left (``None``: unlimited)."""
        return None if self.times is None else max(self.times - self.applied, 0)

    def matches(self, path: str, model: str | None) -> bool:
        """Whether this injection applies to a request on ``path`` for ``model``."""
        if self.remaining == 0:
            return False
        if self.path is not None and not _glob(path, self.path):
            return False
        return self.model is None or (model is not None and _glob(model, self.model))


def _glob(value: str, pattern: str) -> bool:
    return value == pattern or fnmatch.fnmatchcase(value, pattern)


class FaultPlan:
    """The ordered, thread-safe list of injections of one simulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Injection] = []

    def add(
        self, fault: Fault, *, times: int | None, path: str | None, model: str | None
    ) -> Injection:
        if not isinstance(fault, Fault):
            raise ConfigurationError(
                f"inject() takes a Fault (e.g. Fault.rate_limit()), got {type(fault).__name__}"
            )
        if times is not None and times < 1:
            raise ConfigurationError(f"times must be >= 1 (or None for always), got {times!r}")
        item = Injection(fault=fault, times=times, path=path, model=model)
        with self._lock:
            self._items.append(item)
        return item

    def take(self, path: str, model: str | None) -> Fault | None:
        """The first matching injection's fault, counted as applied (``None``: no fault)."""
        with self._lock:
            for item in self._items:
                if item.matches(path, model):
                    item.applied += 1
                    return item.fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def items(self) -> list[Injection]:
        with self._lock:
            return list(self._items)
