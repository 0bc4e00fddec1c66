"""What an endpoint hands back to the server: a JSON body or a list of SSE events, plus the
usage to record; and the providers' error bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tokenomy.usage import Usage

__all__ = [
    "EndpointError",
    "Reply",
    "SSEEvent",
    "dumps",
    "error_body",
    "error_type",
]


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as the providers send it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One server-sent event. ``tokens`` is how many answer tokens it carries (for the
    per-token streaming delay); ``data`` is a JSON-able object or a raw string (``[DONE]``)."""

    event: str | None
    data: Any
    tokens: int = 0

    def encode(self) -> bytes:
        payload = self.data if isinstance(self.data, str) else dumps(self.data).decode()
        head = f"event: {self.event}\n" if self.event else ""
        return f"{head}data: {payload}\n\n".encode()


@dataclass(slots=True)
class Reply:
    """An endpoint's answer: ``body`` (non-streamed JSON) or ``events`` (SSE), the usage to
    record (``usage_reported`` false when the client never sees it, e.g. a chat stream without
    ``include_usage``) and what was generated."""

    status: int = 200
    body: Any = None
    events: list[SSEEvent] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    usage: Usage | None = None
    usage_reported: bool = True
    model: str | None = None
    finish_reasons: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    output_tokens: int = 0


class EndpointError(Exception):
    """A request the simulated provider rejects (bad JSON, missing fields, unknown path)."""

    def __init__(self, status: int, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param


_OPENAI_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_DEFAULT_MESSAGES = {
    429: "Rate limit reached (simulated). Please try again later.",
    500: "The server had an error while processing your request (simulated).",
    503: "The service is temporarily unavailable (simulated).",
    529: "Overloaded (simulated).",
}


def error_type(provider: str | None, status: int) -> str:
    """The provider's error ``type`` for an HTTP status."""
    if provider == "anthropic":
        return _ANTHROPIC_TYPES.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
    if status in _OPENAI_TYPES:
        return _OPENAI_TYPES[status][0]
    return "server_error" if status >= 500 else "invalid_request_error"


def error_body(
    provider: str | None,
    status: int,
    message: str | None,
    *,
    request_id: str,
    param: str | None = None,
) -> dict[str, Any]:
    """The JSON error body the provider sends with ``status``."""
    text = message or _DEFAULT_MESSAGES.get(status) or f"Simulated error {status}."
    kind = error_type(provider, status)
    if provider == "anthropic":
        return {
            "type": "error",
            "error": {"type": kind, "message": text},
            "request_id": request_id,
        }
    code = _OPENAI_TYPES.get(status, (None, None))[1]
    return {"error": {"message": text, "type": kind, "param": param, "code": code}}
