"""``CacheEntry``: one stored answer, and how an answer becomes one and back.

An entry lives in exactly one namespace (a tenant, a user, any tag value the caller chooses)
and one scope (model configuration + system prompt + earlier turns, see ``_normalize``);
``key`` is the request's exact key. The answer is kept as plain JSON (the assistant message,
the usage the provider reported, the finish reason, model, provider, tier): no prompt text
beyond the normalised last turn a semantic lookup compares (``text``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tokenomy.pipeline._response import ModelResponse

__all__ = ["CacheEntry", "answer_of", "response_of"]

_USAGE_FIELDS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning")


@dataclass(slots=True, kw_only=True)
class CacheEntry:
    """One cached answer (module docstring). ``vector`` is the unit embedding of ``text``
    (float32 bytes) when the entry can be found semantically, else ``None``; ``expires`` is a
    wall-clock time (``None``: never)."""

    namespace: str
    key: str
    scope: str
    answer: dict[str, Any]
    text: str | None = None
    vector: bytes | None = None
    created: float = 0.0
    expires: float | None = None

    def expired(self, now: float) -> bool:
        """Whether the entry's time to live has passed at ``now``."""
        return self.expires is not None and now >= self.expires

    def to_json(self) -> str:
        """The entry as JSON, the vector excepted (backends keep it in a binary column)."""
        return json.dumps(
            {
                "namespace": self.namespace,
                "key": self.key,
                "scope": self.scope,
                "answer": self.answer,
                "text": self.text,
                "created": self.created,
                "expires": self.expires,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes, vector: bytes | None = None) -> CacheEntry:
        """The entry :meth:`to_json` wrote (with its vector)."""
        d = json.loads(text)
        return cls(
            namespace=d["namespace"],
            key=d["key"],
            scope=d["scope"],
            answer=d["answer"],
            text=d.get("text"),
            vector=vector,
            created=float(d.get("created") or 0.0),
            expires=d.get("expires"),
        )


def answer_of(response: ModelResponse) -> dict[str, Any]:
    """The JSON-able part of a complete answer that a hit replays."""
    usage = response.usage
    return {
        "message": dict(response.message),
        "usage": None if usage is None else {f: getattr(usage, f) for f in _USAGE_FIELDS}
        | {"estimated": usage.estimated},
        "finish_reason": response.finish_reason,
        "model": response.model,
        "provider": response.provider,
        "service_tier": response.service_tier,
    }


def response_of(answer: dict[str, Any]) -> ModelResponse:
    """A complete :class:`ModelResponse` of a stored answer (``usage``: what the call used
    when it was made, which a hit's record prices as the saving)."""
    from tokenomy.usage import Usage

    raw_usage = answer.get("usage")
    usage = None if raw_usage is None else Usage(**raw_usage)
    return ModelResponse(
        message=dict(answer.get("message") or {"role": "assistant", "content": ""}),
        usage=usage,
        finish_reason=answer.get("finish_reason"),
        model=answer.get("model"),
        provider=answer.get("provider"),
        service_tier=answer.get("service_tier"),
    )
