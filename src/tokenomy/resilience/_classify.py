"""Which failures are worth another attempt: ``classify(error)`` → :class:`AttemptFailure`.

Works on the exceptions of the ``openai``, ``anthropic`` and ``httpx`` clients, on Python's own
timeouts and connection errors, and on framework wrappers of them: LlamaIndex re-raises the
SDK's exception; langchain-openai/-anthropic raise subclasses of it that are also
langchain-core's ``ContextOverflowError`` / ``ModelRateLimitError`` (``OpenAIRateLimitError``,
``AnthropicContextOverflowError``...); a wrapper that raises its own keeps the SDK's as
``__cause__``/``__context__``, which is followed. No SDK is imported: classes are recognised by
name along their MRO and by their ``status_code``/``response`` attributes, so this stays cheap
and works with any version.

* ``"retryable"``: 408, 409, 429, 502, 503, 504, 529 (Anthropic overloaded), timeouts,
  connection errors (refused, reset, a body cut off mid-way);
* ``"fatal"``: any other 4xx (400, 401, 403, 404, 413, 422; a content-policy refusal or a
  context-length error are 400s, named in ``reason``): another attempt can never succeed;
* ``"ambiguous"``: 500 and other 5xx, a body that is not valid JSON: may or may not pass
  again, retried cautiously (:attr:`tokenomy.Retry.ambiguous_attempts`).
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["AttemptFailure", "ErrorClass", "classify", "retry_after_of"]

ErrorClass = Literal["retryable", "fatal", "ambiguous"]

_RETRYABLE_STATUS = frozenset({408, 409, 429, 502, 503, 504, 529})
_TIMEOUT_NAMES = frozenset({"APITimeoutError", "TimeoutException", "Timeout", "TimeoutError",
                            "ReadTimeout", "ConnectTimeout", "WriteTimeout", "PoolTimeout"})
_CONNECTION_NAMES = frozenset({"APIConnectionError", "TransportError", "NetworkError",
                               "ConnectError", "ReadError", "WriteError", "RemoteProtocolError",
                               "ConnectionError", "ProtocolError", "IncompleteRead"})
_MALFORMED_NAMES = frozenset({"APIResponseValidationError", "JSONDecodeError", "DecodingError"})
_CONTENT_POLICY = ("content_filter", "content_policy", "content policy", "safety")
_CONTEXT_LENGTH = ("context_length", "context length", "maximum context", "too long",
                   "prompt is too long", "max_tokens")


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptFailure:
    """What went wrong with one attempt, as a retry policy needs it.

    ``kind``: ``"retryable"``/``"fatal"``/``"ambiguous"``; ``reason``: a short label
    (``"rate_limit"``, ``"unavailable"``, ``"timeout"``, ``"connection"``, ``"server_error"``,
    ``"malformed_response"``, ``"bad_request"``, ``"auth"``, ``"not_found"``,
    ``"content_policy"``, ``"context_length"``, ``"unknown"``); ``status``: the HTTP status
    when there was one; ``retry_after``: seconds the provider asked to wait (``Retry-After`` /
    ``retry-after-ms``), when it did.
    """

    kind: ErrorClass
    reason: str
    status: int | None = None
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        """Another attempt may succeed (``"retryable"`` or ``"ambiguous"``)."""
        return self.kind != "fatal"


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _names(error: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(error).__mro__}


def _status_of(error: BaseException) -> int | None:
    for attr in ("status_code", "status", "http_status"):
        value = getattr(error, attr, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value
    response = getattr(error, "response", None)
    value = getattr(response, "status_code", None)
    if isinstance(value, int) and 100 <= value <= 599 and "HTTPStatusError" in _names(error):
        return value
    return None


def retry_after_of(error: BaseException) -> float | None:
    """Seconds the provider asked to wait before the next attempt (``retry-after-ms``, then
    ``Retry-After`` in seconds or as an HTTP date), from the error's response headers."""
    for link in _chain(error):
        response = getattr(link, "response", None)
        headers: Any = getattr(response, "headers", None)
        if headers is None:
            continue
        try:
            ms = headers.get("retry-after-ms")
            if ms is not None:
                return max(float(ms) / 1000.0, 0.0)
            value = headers.get("retry-after")
        except (AttributeError, TypeError, ValueError):
            continue
        if value is None:
            continue
        try:
            return max(float(value), 0.0)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(str(value)) if value else None
            if parsed is not None:
                return max(parsed.timestamp() - time.time(), 0.0)
    return None


def _text_of(error: BaseException) -> str:
    parts = [str(error)]
    body = getattr(error, "body", None)
    if body is not None:
        parts.append(str(body))
    code = getattr(error, "code", None)
    if code is not None:
        parts.append(str(code))
    return " ".join(parts).lower()


def _of_status(status: int, error: BaseException) -> AttemptFailure:
    after = retry_after_of(error)
    if status in _RETRYABLE_STATUS:
        reason = {429: "rate_limit", 408: "timeout", 409: "conflict"}.get(status, "unavailable")
        return AttemptFailure(kind="retryable", reason=reason, status=status, retry_after=after)
    if status >= 500:
        return AttemptFailure(kind="ambiguous", reason="server_error", status=status, retry_after=after)
    text = _text_of(error)
    if any(word in text for word in _CONTENT_POLICY):
        reason = "content_policy"
    elif any(word in text for word in _CONTEXT_LENGTH):
        reason = "context_length"
    else:
        reason = {401: "auth", 403: "auth", 404: "not_found"}.get(status, "bad_request")
    return AttemptFailure(kind="fatal", reason=reason, status=status)


def classify(error: BaseException) -> AttemptFailure:
    """How ``error`` (one failed attempt) should be treated: see the module docstring.

    Anything not recognised (a bug in a callback, a ``ValueError`` of the caller's) is
    ``fatal``: retrying code errors only multiplies the bill.
    """
    for link in _chain(error):
        names = _names(link)
        if "ContextOverflowError" in names:  # langchain-core's, raised by its OpenAI/Anthropic
            return AttemptFailure(kind="fatal", reason="context_length", status=_status_of(link))
        status = _status_of(link)
        if status is not None and status >= 400:
            return _of_status(status, link)
        if "ModelRateLimitError" in names:
            return AttemptFailure(kind="retryable", reason="rate_limit",
                                  retry_after=retry_after_of(link))
        if names & _TIMEOUT_NAMES:
            return AttemptFailure(kind="retryable", reason="timeout")
        if names & _CONNECTION_NAMES:
            return AttemptFailure(kind="retryable", reason="connection")
        if names & _MALFORMED_NAMES:
            return AttemptFailure(kind="ambiguous", reason="malformed_response")
    return AttemptFailure(kind="fatal", reason="unknown")
