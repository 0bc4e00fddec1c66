"""OpenAI Responses API request bodies (``/v1/responses``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens._openai_chat import estimate_messages
from tokenomy.tokens._result import TokenEstimate

__all__ = ["estimate_responses_body"]


def estimate_responses_body(body: Mapping[str, Any]) -> TokenEstimate:
    """Estimate an OpenAI Responses request: ``instructions`` plus ``input`` items."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise TokenCountError(
            "OpenAI Responses request body has no 'model' string; expected "
            '{"model": "gpt-4o", "input": "..." or [{"role": "user", "content": "..."}]}'
        )
    messages: list[Mapping[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "developer", "content": body["instructions"]})
    items = body.get("input")
    if isinstance(items, str):
        messages.append({"role": "user", "content": items})
    elif isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping) and "role" in item:
                messages.append({"role": item["role"], "content": item.get("content")})
            else:
                messages.append({"role": "tool", "content": str(item)})
    est = estimate_messages(messages, model, tools=body.get("tools"))
    return TokenEstimate(
        prompt_tokens=est.prompt_tokens,
        estimated=est.estimated,
        encoding=est.encoding,
        method=est.method.replace("openai-chat", "openai-responses", 1),
    )
