"""The :class:`ParsedResponse`: what one provider response says about itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tokenomy.usage._model import Usage

__all__ = ["APIS", "ParsedResponse", "provider_for"]

#: Wire formats tokenomy reads, and the provider whose format each is.
APIS: dict[str, str] = {
    "chat.completions": "openai",
    "completions": "openai",
    "embeddings": "openai",
    "responses": "openai",
    "messages": "anthropic",
    "gemini": "gemini",
    "bedrock": "bedrock",
}

_OPENAI = frozenset({"chat.completions", "completions", "embeddings", "responses"})
# Providers whose own wire formats are known: a label naming one of them on a body of
# another format is wrong (the shared cassettes label OpenAI Responses traffic
# "anthropic"), so the body's shape wins. Other labels (azure, openrouter, groq, a
# gateway...) serve OpenAI-compatible or relayed formats and are kept as given.
_NATIVE: dict[str, frozenset[str]] = {
    "openai": _OPENAI,
    "azure": _OPENAI,
    "anthropic": frozenset({"messages"}),
    "gemini": frozenset({"gemini"}),
    "google": frozenset({"gemini"}),
    "vertex_ai": frozenset({"gemini", "messages"}),
    "bedrock": frozenset({"bedrock", "messages"}),
}


def provider_for(api: str, hint: str | None = None) -> str:
    """The provider of a body in format ``api``, given an optional (possibly wrong) label."""
    default = APIS.get(api, "unknown")
    label = (hint or "").strip().lower()
    if label in ("", "unknown"):
        return default
    allowed = _NATIVE.get(label)
    if allowed is not None and api not in allowed:
        return default
    return label


@dataclass(frozen=True, slots=True)
class ParsedResponse:
    """One provider response, normalised.

    ``api`` is the wire format found by the body's shape (``"chat.completions"``,
    ``"responses"``, ``"messages"``, ``"gemini"``, ``"bedrock"``, ``"completions"``,
    ``"embeddings"``); ``provider`` the provider (the label given, unless it names a
    provider whose format this is not). ``model`` is the model the provider reports (a
    dated snapshot such as ``gpt-4o-mini-2024-07-18``), ``None`` where the format has none
    (Bedrock Converse). ``service_tier`` is the tier the provider reports it served.
    """

    provider: str
    api: str
    model: str | None
    usage: Usage
    streamed: bool = False
    service_tier: str | None = None
    response_id: str | None = None
    finish_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the fields, with ``usage`` as its six counts."""
        return {
            "provider": self.provider,
            "api": self.api,
            "model": self.model,
            "usage": self.usage.counts(),
            "estimated": self.usage.estimated,
            "streamed": self.streamed,
            "service_tier": self.service_tier,
            "response_id": self.response_id,
            "finish_reason": self.finish_reason,
        }
