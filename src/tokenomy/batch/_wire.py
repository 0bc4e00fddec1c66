"""A :class:`~tokenomy.ModelRequest` as one batch item's body, and a result body back as a
:class:`~tokenomy.ModelResponse` (OpenAI chat completions, Anthropic messages)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tokenomy.pipeline import ModelRequest, ModelResponse
from tokenomy.usage import parse_usage

__all__ = ["anthropic_params", "openai_chat_body", "response_from_body"]

#: max_tokens for an Anthropic item whose request sets none (the API requires one)
DEFAULT_ANTHROPIC_MAX_TOKENS = 4096


def openai_chat_body(request: ModelRequest) -> dict[str, Any]:
    """The ``/v1/chat/completions`` body of ``request``."""
    body: dict[str, Any] = {"model": request.model, "messages": [dict(m) for m in request.messages]}
    for key, value in request.params.items():
        body[key] = value
    return body


def anthropic_params(request: ModelRequest) -> dict[str, Any]:
    """The ``/v1/messages`` params of ``request`` (system blocks and ``cache_control`` kept)."""
    from tokenomy.tokens._call import anthropic_body

    messages = [m for m in request.messages if m.get("role") not in ("system", "developer")]
    system_blocks: list[dict[str, Any]] = []
    for m in request.messages:
        if m.get("role") not in ("system", "developer"):
            continue
        content = m.get("content")
        if isinstance(content, str):
            system_blocks.append({"type": "text", "text": content})
        elif isinstance(content, list):
            system_blocks.extend(
                dict(p) if isinstance(p, Mapping) else {"type": "text", "text": str(p)}
                for p in content
            )
    tools = request.tools
    body = anthropic_body(messages, request.model or "", list(tools) or None)
    if system_blocks:
        if any("cache_control" in b for b in system_blocks):
            body["system"] = system_blocks
        else:
            body["system"] = "\n".join(str(b.get("text") or "") for b in system_blocks)
    if tools:
        body["tools"] = [
            {**spec, "cache_control": tool["cache_control"]} if "cache_control" in tool else spec
            for spec, tool in zip(body["tools"], tools, strict=True)
        ]
    body["max_tokens"] = request.max_tokens or DEFAULT_ANTHROPIC_MAX_TOKENS
    for key in ("temperature", "top_p", "stop_sequences", "tool_choice", "metadata"):
        if key in request.params:
            body[key] = request.params[key]
    if "stop" in request.params:
        stop = request.params["stop"]
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    return body


def response_from_body(
    provider: str, body: Mapping[str, Any], *, service_tier: str | None = "batch"
) -> ModelResponse:
    """A complete :class:`ModelResponse` from a result's body (a batch item's by default:
    billed at the batch tier)."""
    usage = parse_usage(dict(body))
    if provider == "anthropic":
        text: list[str] = []
        calls: list[dict[str, Any]] = []
        for block in body.get("content") or ():
            if block.get("type") == "text":
                text.append(str(block.get("text") or ""))
            elif block.get("type") == "tool_use":
                calls.append(
                    {
                        "id": block.get("id"),
                        "type": "function",
                        "function": {
                            "name": block.get("name"),
                            "arguments": json.dumps(block.get("input") or {}),
                        },
                    }
                )
        message: dict[str, Any] = {"role": "assistant", "content": "".join(text)}
        if calls:
            message["tool_calls"] = calls
        finish = body.get("stop_reason")
    else:
        choice = (body.get("choices") or [{}])[0]
        message = dict(choice.get("message") or {"role": "assistant", "content": ""})
        message = {k: v for k, v in message.items() if v is not None}
        message.setdefault("content", "")
        finish = choice.get("finish_reason")
    return ModelResponse(
        message=message,
        usage=usage,
        finish_reason=None if finish is None else str(finish),
        model=body.get("model"),
        provider=provider,
        service_tier=service_tier,
        raw=dict(body),
    )
