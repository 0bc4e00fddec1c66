"""LlamaIndex objects ↔ the pipeline's plain data, for :class:`~tokenomy_llamaindex.TokenomyLLM`.

``ChatMessage`` → OpenAI-shape message dicts (role, text content, ``tool_calls`` from
``ToolCallBlock`` blocks or ``additional_kwargs["tool_calls"]``, ``tool_call_id`` of tool
results) and back; a ``ChatResponse``/``CompletionResponse`` → the fields of a
:class:`tokenomy.ModelResponse` (usage, model and service tier read from ``raw`` by the same
readers the handlers use, :mod:`tokenomy_llamaindex._usage`; the finish reason from ``raw``
as OpenAI and Anthropic report it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
    ToolCallBlock,
)

__all__ = [
    "chat_message_of",
    "finish_reason_of",
    "message_dict",
    "message_dicts",
    "native_messages",
    "response_message",
]


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _tool_calls(message: ChatMessage) -> list[dict[str, Any]]:
    calls = [
        {
            "id": block.tool_call_id,
            "type": "function",
            "function": {"name": block.tool_name, "arguments": _arguments(block.tool_kwargs)},
        }
        for block in message.blocks
        if isinstance(block, ToolCallBlock)
    ]
    if calls:
        return calls
    for call in message.additional_kwargs.get("tool_calls") or ():
        function = _get(call, "function")
        if function is None:
            continue
        calls.append(
            {
                "id": _get(call, "id"),
                "type": "function",
                "function": {
                    "name": str(_get(function, "name") or ""),
                    "arguments": _arguments(_get(function, "arguments") or ""),
                },
            }
        )
    return calls


def message_dict(message: ChatMessage) -> dict[str, Any]:
    """One ``ChatMessage`` as an OpenAI-shape dict."""
    role = message.role
    out: dict[str, Any] = {
        "role": role.value if isinstance(role, MessageRole) else str(role),
        "content": message.content or "",
    }
    calls = _tool_calls(message)
    if calls:
        out["tool_calls"] = calls
    extra = message.additional_kwargs
    if extra:
        call_id = extra.get("tool_call_id")
        if call_id is not None:
            out["tool_call_id"] = str(call_id)
        name = extra.get("name")
        if isinstance(name, str):
            out["name"] = name
    return out


def message_dicts(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The conversation as the pipeline's plain dicts."""
    return [message_dict(m) for m in messages]


def chat_message_of(d: Mapping[str, Any]) -> ChatMessage:
    """A ``ChatMessage`` from an OpenAI-shape dict (a message a policy wrote or changed)."""
    extra: dict[str, Any] = {}
    blocks: list[Any] = []
    for call in d.get("tool_calls") or ():
        function = call.get("function") or {}
        arguments = function.get("arguments") or "{}"
        try:
            kwargs: Any = json.loads(arguments) if isinstance(arguments, str) else arguments
        except ValueError:
            kwargs = arguments
        blocks.append(
            ToolCallBlock(
                tool_call_id=call.get("id"), tool_name=function.get("name", ""), tool_kwargs=kwargs
            )
        )
    if d.get("tool_call_id") is not None:
        extra["tool_call_id"] = d["tool_call_id"]
    if d.get("name") is not None:
        extra["name"] = d["name"]
    content = d.get("content")
    if isinstance(content, list):
        content = "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    message = ChatMessage(role=d.get("role", "user"), content=content or "", additional_kwargs=extra)
    message.blocks.extend(blocks)
    return message


def native_messages(
    request_messages: Sequence[Any],
    final_messages: Sequence[Any],
    native: Sequence[ChatMessage],
) -> Sequence[ChatMessage]:
    """The messages to send: the caller's own when no policy changed them."""
    if final_messages is request_messages:
        return native
    return [chat_message_of(d) for d in final_messages]


def response_message(response: ChatResponse | CompletionResponse | None) -> dict[str, Any]:
    """The assistant message of a response, as a plain dict."""
    if isinstance(response, ChatResponse):
        out = message_dict(response.message)
        out["role"] = "assistant"
        return out
    text = getattr(response, "text", None)
    return {"role": "assistant", "content": text if isinstance(text, str) else ""}


def finish_reason_of(response: Any) -> str | None:
    """Why the provider stopped, as it said it: OpenAI ``choices[0].finish_reason`` (a response
    or a stream chunk), Anthropic ``stop_reason`` (a message, or a ``message_delta`` event's
    ``delta``); ``None`` when the response does not say."""
    raw = getattr(response, "raw", None)
    if raw is None:
        return None
    choices = _get(raw, "choices")
    if isinstance(choices, Sequence) and choices:
        reason = _get(choices[0], "finish_reason")
        return reason if isinstance(reason, str) else None
    reason = _get(raw, "stop_reason")
    if isinstance(reason, str):
        return reason
    delta = _get(raw, "delta")
    if delta is not None and not isinstance(delta, str):
        reason = _get(delta, "stop_reason")
        if isinstance(reason, str):
            return reason
    return None
