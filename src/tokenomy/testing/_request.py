"""What the simulator received: one request, as handed to answer rules and kept in records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SimRequest", "content_text"]


@dataclass(frozen=True, slots=True)
class SimRequest:
    """One HTTP request the simulator received.

    ``provider`` is ``"openai"`` or ``"anthropic"``; ``api`` one of ``"chat.completions"``,
    ``"responses"``, ``"embeddings"``, ``"models"``, ``"messages"``,
    ``"messages.count_tokens"`` (``None`` for unknown paths). ``body`` is the parsed JSON body
    (``None`` when there was none or it was not JSON). ``fault`` names the injected fault that
    hit it, if any. ``index`` counts requests from 0 per simulator. ``headers`` are
    lower-cased, with credentials (``authorization``, ``x-api-key``) redacted.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    provider: str | None
    api: str | None
    model: str | None
    stream: bool
    index: int
    received_at: float
    fault: str | None = None
    choice: int = field(default=0, compare=False)

    @property
    def messages(self) -> list[Any]:
        """The conversation as sent (chat/Anthropic ``messages``, Responses ``input`` items)."""
        body = self.body if isinstance(self.body, Mapping) else {}
        if self.api == "responses":
            items = body.get("input")
            if isinstance(items, str):
                return [{"role": "user", "content": items}]
            return list(items) if isinstance(items, list) else []
        messages = body.get("messages")
        return list(messages) if isinstance(messages, list) else []

    @property
    def last_user_text(self) -> str:
        """Text of the last user turn ("" when there is none); embeddings: the first input."""
        body = self.body if isinstance(self.body, Mapping) else {}
        if self.api == "embeddings":
            value = body.get("input")
            if isinstance(value, list) and value and isinstance(value[0], str):
                return value[0]
            return value if isinstance(value, str) else ""
        for message in reversed(self.messages):
            if isinstance(message, Mapping) and message.get("role") == "user":
                return content_text(message.get("content"))
            if (
                isinstance(message, Mapping)
                and message.get("type") == "function_call_output"
                and self.api == "responses"
            ):
                return content_text(message.get("output"))
        return ""

    @property
    def system_text(self) -> str:
        """The system prompt (OpenAI system/developer messages, Responses ``instructions``,
        Anthropic ``system``), joined with blank lines."""
        body = self.body if isinstance(self.body, Mapping) else {}
        parts: list[str] = []
        if self.api == "responses" and body.get("instructions"):
            parts.append(content_text(body.get("instructions")))
        if self.api == "messages" and body.get("system"):
            parts.append(content_text(body.get("system")))
        for message in self.messages:
            if isinstance(message, Mapping) and message.get("role") in ("system", "developer"):
                parts.append(content_text(message.get("content")))
        return "\n\n".join(p for p in parts if p)

    def header(self, name: str, default: str | None = None) -> str | None:
        """A request header by (case-insensitive) name."""
        return self.headers.get(name.lower(), default)


def content_text(content: Any) -> str:
    """The plain text of a message content in any of the three wire formats."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        content = [content]
    if not isinstance(content, list):
        return str(content)
    texts: list[str] = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, Mapping):
            kind = part.get("type", "text")
            if kind in ("text", "input_text", "output_text"):
                texts.append(str(part.get("text") or ""))
            elif kind == "tool_result":
                texts.append(content_text(part.get("content")))
            elif kind == "refusal":
                texts.append(str(part.get("refusal") or ""))
            elif "text" in part:
                texts.append(str(part["text"]))
            else:
                texts.append(json.dumps(part, sort_keys=True, ensure_ascii=False))
    return "".join(texts)
