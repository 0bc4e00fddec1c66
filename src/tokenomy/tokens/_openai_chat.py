"""OpenAI Chat Completions: the cookbook rule for messages, best effort for the rest.

The rule ("How to count tokens with tiktoken", OpenAI cookbook): every message costs
``tokens_per_message`` (3) plus the tokens of each of its string values (role, content,
name), a ``name`` costs ``tokens_per_name`` (1) more, and the reply is primed with 3 tokens.
gpt-3.5-turbo-0301 used 4 and -1. That is exact for plain-text messages; tool calls, tool
definitions, images and structured-output schemas are rendered by OpenAI in formats it does not
publish, so their counts are approximations and the estimate is flagged ``estimated``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens._encoding import encoding_name_for_model, get_encoding
from tokenomy.tokens._result import TokenEstimate
from tokenomy.tokens._schema import count_response_format, count_tools
from tokenomy.tokens._text import dumps, encode_len

__all__ = ["estimate_chat_body", "estimate_messages"]

REPLY_PRIMING = 3


def _per_message(model: str) -> tuple[int, int]:
    if model.lower().rsplit("/", 1)[-1].startswith("gpt-3.5-turbo-0301"):
        return 4, -1
    return 3, 1


def estimate_messages(
    messages: Sequence[Mapping[str, Any]],
    model: str,
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    response_format: Mapping[str, Any] | None = None,
) -> TokenEstimate:
    """Prompt tokens of an OpenAI chat request with these ``messages`` (and ``tools``).

    Exact (``estimated=False``) for plain-text messages; tool calls, tool results, tool
    definitions, images, audio, files and ``response_format`` schemas make it an estimate whose
    ``method`` names why (e.g. ``"openai-chat+tools+images"``).
    """
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise TokenCountError(
            f"messages must be a list of message dicts, got {type(messages).__name__}"
        )
    enc_name = encoding_name_for_model(model)
    enc = get_encoding(enc_name)
    per_message, per_name = _per_message(model)
    reasons: set[str] = set()
    total = REPLY_PRIMING
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise TokenCountError(
                f"messages[{index}] must be a dict with 'role' and 'content', "
                f"got {type(message).__name__}"
            )
        total += per_message
        for key, value in message.items():
            if value is None:
                continue
            if key == "content":
                total += _content_tokens(enc, value, reasons, model)
            elif key == "tool_calls":
                reasons.add("tool-calls")
                total += _tool_calls_tokens(enc, value)
            elif key == "function_call":
                reasons.add("tool-calls")
                total += _tool_calls_tokens(enc, [{"function": value}])
            elif key in ("tool_call_id", "refusal", "audio"):
                if key == "tool_call_id":
                    reasons.add("tool-results")
                continue
            elif isinstance(value, str):
                total += encode_len(enc, value)
                if key == "name":
                    total += per_name
        if message.get("role") in ("tool", "function"):
            reasons.add("tool-results")
    if tools:
        reasons.add("tools")
        total += count_tools(enc, tools)
    if response_format:
        extra, approx = count_response_format(enc, response_format)
        total += extra
        if approx:
            reasons.add("response-format")
    method = "openai-chat" + "".join(f"+{r}" for r in sorted(reasons))
    return TokenEstimate(
        prompt_tokens=total, estimated=bool(reasons), encoding=enc_name, method=method
    )


def _content_tokens(enc: Any, content: Any, reasons: set[str], model: str) -> int:
    if isinstance(content, str):
        return encode_len(enc, content)
    if not isinstance(content, Sequence):
        raise TokenCountError(
            f"message content must be a string or a list of parts, got {type(content).__name__}"
        )
    total = 0
    for part in content:
        if isinstance(part, str):
            total += encode_len(enc, part)
            continue
        if not isinstance(part, Mapping):
            raise TokenCountError(f"content part must be a dict, got {type(part).__name__}")
        kind = part.get("type", "text")
        if kind in ("text", "input_text", "output_text", "refusal"):
            total += encode_len(enc, str(part.get(kind if kind == "refusal" else "text") or ""))
        elif kind in ("image_url", "input_image", "image"):
            from tokenomy.tokens._images import openai_image_tokens

            reasons.add("images")
            total += openai_image_tokens(part, model)
        else:  # input_audio, file, ...: no published rule
            reasons.add(str(kind).replace("_", "-"))
            total += encode_len(enc, dumps(part))
    return total


def _tool_calls_tokens(enc: Any, calls: Any) -> int:
    total = 0
    for call in calls or ():
        function = call.get("function", call) if isinstance(call, Mapping) else {}
        total += 3 + encode_len(enc, str(function.get("name") or ""))
        total += encode_len(enc, dumps(function.get("arguments") or ""))
    return total


def estimate_chat_body(body: Mapping[str, Any]) -> TokenEstimate:
    """Estimate an OpenAI ``/v1/chat/completions`` request body."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise TokenCountError(
            "OpenAI chat request body has no 'model' string; expected "
            '{"model": "gpt-4o", "messages": [{"role": "user", "content": "..."}]}'
        )
    tools = list(body.get("tools") or [])
    tools += [{"type": "function", "function": f} for f in body.get("functions") or []]
    return estimate_messages(
        body.get("messages") or [],
        model,
        tools=tools or None,
        response_format=body.get("response_format"),
    )
