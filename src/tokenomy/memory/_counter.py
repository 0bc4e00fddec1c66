"""``MessageCounter``: each message's prompt tokens, counted once and remembered.

A history read counts the same messages again and again (each turn adds two or three to a
history of hundreds), so each message's count is cached under a key of its content: a read
costs a dictionary lookup per message, not a tokenizer pass over the history. Counts come from
:mod:`tokenomy.tokens` in the target model's encoding: the OpenAI chat rules (per-message
overhead, role, name, tool calls, tool results) or, for ``provider="anthropic"``, the
Anthropic estimator. A request's total is :attr:`MessageCounter.priming` plus the sum of its
messages' counts, exactly what :func:`tokenomy.tokens.estimate_messages` gives for the whole
list on the OpenAI rules (Anthropic: an upper bound, consecutive tool results share a turn).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, NamedTuple

__all__ = ["MessageCounter", "MessageInfo", "message_key"]

#: The counting model when neither the memory nor the request names one.
DEFAULT_MODEL = "gpt-4o"


class MessageInfo(NamedTuple):
    """What a window needs to know about one message: its ``role`` (``system``, ``user``,
    ``assistant``, ``tool``), its prompt ``tokens``, the ids of the tool calls it makes
    (``call_ids``) and the call it answers (``result_id``, tool results only)."""

    role: str
    tokens: int
    call_ids: tuple[str, ...] = ()
    result_id: str | None = None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def message_key(message: Mapping[str, Any]) -> Hashable:
    """A key that is equal for messages that count the same (role, content, tool calls,
    tool result id, name)."""
    content = message.get("content")
    calls = message.get("tool_calls")
    return (
        message.get("role"),
        content if isinstance(content, str) or content is None else _dumps(content),
        _dumps(calls) if calls else None,
        message.get("tool_call_id"),
        message.get("name"),
    )


def _role(message: Mapping[str, Any]) -> str:
    role = str(message.get("role") or "user")
    if role == "developer":
        return "system"
    if role == "function":
        return "tool"
    return role


def _call_ids(message: Mapping[str, Any]) -> tuple[str, ...]:
    ids: list[str] = []
    for call in message.get("tool_calls") or ():
        if isinstance(call, Mapping):
            ids.append(str(call.get("id") or ""))
    return tuple(ids)


class MessageCounter:
    """Prompt tokens of chat messages (OpenAI-shape dicts) for ``model``, cached per message.

    ``provider="anthropic"`` counts with the Anthropic estimator. The cache holds up to
    ``max_entries`` messages (cleared when full); it is safe to share between threads (a race
    only counts a message twice).
    """

    def __init__(
        self, model: str | None = None, *, provider: str | None = None, max_entries: int = 100_000
    ) -> None:
        self.model = model or DEFAULT_MODEL
        self.provider = provider
        self.anthropic = (provider or "").lower() == "anthropic"
        self.max_entries = max_entries
        self._cache: dict[Hashable, MessageInfo] = {}
        self.priming = self._request_tokens([])

    def __repr__(self) -> str:
        return f"MessageCounter(model={self.model!r}, provider={self.provider!r})"

    def _request_tokens(self, messages: list[Mapping[str, Any]]) -> int:
        if self.anthropic:
            from tokenomy.tokens import estimate_call

            return estimate_call(messages, None, model=self.model, provider="anthropic").input
        from tokenomy.tokens import estimate_messages

        return estimate_messages(messages, self.model).prompt_tokens

    def count(self, message: Mapping[str, Any]) -> int:
        """Tokens ``message`` adds to a request (uncached)."""
        return max(0, self._request_tokens([message]) - self.priming)

    def measure(self, message: Mapping[str, Any]) -> MessageInfo:
        """The :class:`MessageInfo` of ``message`` (uncached)."""
        role = _role(message)
        return MessageInfo(
            role=role,
            tokens=self.count(message),
            call_ids=_call_ids(message) if role == "assistant" else (),
            result_id=(str(message.get("tool_call_id") or "") if role == "tool" else None),
        )

    def info(self, message: Mapping[str, Any]) -> MessageInfo:
        """The :class:`MessageInfo` of ``message``, from the cache when it was seen before."""
        key = message_key(message)
        found = self._cache.get(key)
        if found is None:
            found = self._remember(key, self.measure(message))
        return found

    def info_for(self, key: Hashable, build: Callable[[], Mapping[str, Any]]) -> MessageInfo:
        """The :class:`MessageInfo` cached under ``key`` (a framework message's own key);
        on a miss ``build()`` makes the message dict to count. Integrations use this to skip
        converting messages they have already counted."""
        found = self._cache.get(key)
        if found is None:
            found = self._remember(key, self.measure(build()))
        return found

    def infos(self, messages: Sequence[Mapping[str, Any]]) -> list[MessageInfo]:
        """:meth:`info` of each message."""
        return [self.info(m) for m in messages]

    def total(self, infos: Sequence[MessageInfo]) -> int:
        """Prompt tokens of a request made of these messages."""
        return self.priming + sum(i.tokens for i in infos)

    def text_tokens(self, text: str) -> int:
        """Tokens of plain ``text`` in the model's encoding."""
        from tokenomy.tokens import count_text

        return count_text(text, "gpt-4o" if self.anthropic else self.model)

    def truncate(self, text: str, limit: int) -> str:
        """``text`` cut to at most ``limit`` tokens (on a token boundary)."""
        from tokenomy.tokens import encoding_for_model

        enc = encoding_for_model("gpt-4o" if self.anthropic else self.model)
        tokens = enc.encode(text, disallowed_special=())
        if len(tokens) <= limit:
            return text
        return enc.decode(tokens[: max(0, limit)])

    def _remember(self, key: Hashable, info: MessageInfo) -> MessageInfo:
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[key] = info
        return info
