"""What the cache may store and may answer: only complete, successful, deterministic enough
answers.

A request is not looked up or stored when it asks for randomness above ``max_temperature``
(unless that is ``None``: the caller opted in), for several choices (``n > 1``), or is not a
chat or completion call. An answer is not stored when it was cut short (``finish_reason``
length / max_tokens), filtered, failed, empty, or carries a tool call whose arguments are
not a JSON object; nor when the request's last message is a tool result reporting an error
(the next answer depends on a failure that may not recur).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tokenomy.pipeline._request import ModelRequest
from tokenomy.pipeline._response import TRUNCATED_REASONS, ModelResponse

__all__ = ["CacheRules"]

_UNSAFE_FINISH = TRUNCATED_REASONS | {
    "content_filter",
    "error",
    "refusal",
    "safety",
    "recitation",
    "incomplete",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheRules:
    """Rules for what is safe to cache (module docstring).

    * ``max_temperature``: requests with a higher ``temperature`` bypass the cache; ``None``
      caches at any temperature (opt-in). A request without one counts as within the bound.
    * ``cache_tool_calls``: store answers that call tools (the call, not its result).
    * ``unsafe_finish_reasons``: finish reasons never stored.
    """

    max_temperature: float | None = 1.0
    cache_tool_calls: bool = True
    unsafe_finish_reasons: frozenset[str] = field(default=_UNSAFE_FINISH)

    def skip_request(self, request: ModelRequest) -> str | None:
        """Why ``request`` must bypass the cache, else ``None``."""
        if request.kind not in ("chat", "completion"):
            return "kind"
        params = request.params
        n = params.get("n")
        if isinstance(n, int) and n > 1:
            return "n"
        t = params.get("temperature")
        if (
            self.max_temperature is not None
            and isinstance(t, int | float)
            and float(t) > self.max_temperature
        ):
            return "temperature"
        if request.messages and _tool_error(request.messages[-1]):
            return "tool_error"
        return None

    def skip_answer(self, response: ModelResponse, error: BaseException | None) -> str | None:
        """Why ``response`` must not be stored, else ``None``."""
        if error is not None:
            return "error"
        reason = (response.finish_reason or "").lower()
        if reason in self.unsafe_finish_reasons:
            return "finish_reason"
        calls = response.tool_calls
        if calls:
            if not self.cache_tool_calls:
                return "tool_calls"
            for call in calls:
                args = (call.get("function") or {}).get("arguments")
                if isinstance(args, str):
                    try:
                        parsed = json.loads(args or "{}")
                    except ValueError:
                        return "tool_call_error"
                    if not isinstance(parsed, dict):
                        return "tool_call_error"
        elif not response.text.strip():
            return "empty"
        return None


def _tool_error(message: dict[str, object]) -> bool:
    if message.get("role") != "tool":
        return False
    if message.get("status") == "error" or message.get("is_error"):
        return True
    content = message.get("content")
    return isinstance(content, str) and content.lstrip().lower().startswith(("error", "traceback"))
