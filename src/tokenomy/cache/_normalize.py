"""What makes two requests the same call (exact key), the same context (semantic scope), and
the text a semantic lookup embeds.

* **Exact key**: model, provider, kind, every generation parameter, the messages (text with
  Unicode NFKC and runs of whitespace collapsed; roles, tool calls and tool results kept) or
  the prompt, hashed (SHA-256). Two requests with the same key get the same answer.
* **Scope**: model, provider, kind, every generation parameter, the system prompt and (by
  default) the turns before the last user message, hashed. A semantic hit never crosses a
  scope: a paraphrase only matches a question asked of the same model configuration, under
  the same system prompt, after the same conversation.
* **Semantic text**: the last user turn's text, NFKC, case-folded, whitespace collapsed
  (:func:`normalize_text`), the same normalisation ``tokenomy cache calibrate`` uses.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from tokenomy.pipeline._request import Message, ModelRequest

__all__ = [
    "History",
    "exact_key",
    "normalize_text",
    "request_texts",
    "scope_key",
    "semantic_text",
]

#: How the turns before the last user message enter the scope: ``"exact"`` (they must be the
#: same, the safe default) or ``"ignore"`` (single-turn apps: only the last turn counts).
History = Literal["exact", "ignore"]

_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed and stripped: the semantic cache's text."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def _exact_text(text: str) -> str:
    # the exact key keeps case (code, names) but not layout noise
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def _content(value: Any) -> Any:
    if isinstance(value, str):
        return _exact_text(value)
    if isinstance(value, list):
        return [_content(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _content(v) for k, v in value.items()}
    return value


def _message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.get("role")}
    for key in ("content", "tool_calls", "tool_call_id", "name"):
        if m.get(key) is not None:
            out[key] = _content(m[key])
    return out


def _digest(body: Any) -> str:
    text = json.dumps(body, sort_keys=True, default=repr, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _config(request: ModelRequest) -> dict[str, Any]:
    return {
        "model": request.model,
        "provider": request.provider,
        "kind": request.kind,
        "params": _content(dict(request.params)),
    }


def exact_key(request: ModelRequest) -> str:
    """The exact cache key of ``request`` (module docstring)."""
    body = _config(request)
    body["messages"] = [_message(m) for m in request.messages]
    body["prompt"] = None if request.prompt is None else _exact_text(request.prompt)
    return _digest(body)


def _last_user(messages: Sequence[Message]) -> int | None:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            return i
    return None


def _text_of(content: Any) -> str | None:
    """Plain text of a message's content; ``None`` when it has non-text parts (an image)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for p in content:
            if isinstance(p, str):
                parts.append(p)
            elif isinstance(p, Mapping) and p.get("type") in ("text", "input_text"):
                parts.append(str(p.get("text", "")))
            else:
                return None
        return "\n".join(parts)
    return None


def semantic_text(request: ModelRequest) -> str | None:
    """The normalised text a semantic lookup embeds: the last user turn (the prompt of a
    completion). ``None`` when the request cannot be matched semantically: no user turn,
    a turn after it (a tool result being answered), or non-text content."""
    if request.kind == "completion":
        return normalize_text(request.prompt) if request.prompt else None
    if request.kind != "chat":
        return None
    messages = request.messages
    i = _last_user(messages)
    if i is None or i != len(messages) - 1:
        return None
    text = _text_of(messages[i].get("content"))
    if text is None or not text.strip():
        return None
    return normalize_text(text)


def scope_key(request: ModelRequest, *, history: History = "exact") -> str:
    """The semantic scope of ``request`` (module docstring)."""
    body = _config(request)
    messages = list(request.messages)
    i = _last_user(messages)
    before = messages[:i] if i is not None else messages
    body["system"] = [_message(m) for m in before if m.get("role") in ("system", "developer")]
    if history == "exact":
        body["history"] = [
            _message(m) for m in before if m.get("role") not in ("system", "developer")
        ]
    return _digest(body)


def request_texts(request: ModelRequest) -> tuple[str, str, str | None]:
    """``(exact key, scope, semantic text)`` of ``request`` with the default history rule."""
    return exact_key(request), scope_key(request), semantic_text(request)
