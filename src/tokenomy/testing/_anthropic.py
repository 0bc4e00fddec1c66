"""``POST /v1/messages`` (and ``/v1/messages/count_tokens``): the Anthropic Messages API.

Streams follow the real sequence: ``message_start`` (usage with the input and cache counts),
then per block ``content_block_start`` (a ``ping`` after the first), ``content_block_delta``...,
``content_block_stop``; then ``message_delta`` (stop reason and cumulative usage) and
``message_stop``. ``input_tokens`` excludes the cache reads and writes, as Anthropic reports it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tokenomy.exceptions import TokenCountError
from tokenomy.testing._caching import AnthropicCacheResult
from tokenomy.testing._counting import prompt_tokens, split_tokens
from tokenomy.testing._faults import Fault
from tokenomy.testing._generate import Context, Generation, generate, int_field
from tokenomy.testing._request import SimRequest
from tokenomy.testing._wire import EndpointError, Reply, SSEEvent
from tokenomy.usage import Usage

__all__ = ["handle_count_tokens", "handle_messages"]


def _validate(body: Mapping[str, Any]) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise EndpointError(400, "messages: at least one message is required", param="messages")


def _prompt(body: Mapping[str, Any]) -> int:
    try:
        return prompt_tokens(body, "anthropic")
    except TokenCountError as exc:
        raise EndpointError(400, f"invalid request body: {exc}") from exc


def handle_count_tokens(ctx: Context, request: SimRequest, length_fault: Fault | None) -> Reply:
    """``/v1/messages/count_tokens``: the prompt tokens of a messages body (no caching)."""
    _validate(request.body)
    return Reply(body={"input_tokens": _prompt(request.body)}, usage=None)


def _service_tier(body: Mapping[str, Any]) -> str:
    tier = body.get("service_tier")
    return "standard" if tier in (None, "auto", "standard_only") else str(tier)


def _stop_reason(gen: Generation) -> str:
    if gen.truncated:
        return "max_tokens"
    return "tool_use" if gen.tool_calls else "end_turn"


def handle_messages(ctx: Context, request: SimRequest, length_fault: Fault | None) -> Reply:
    """Answer one Anthropic messages request."""
    body = request.body
    _validate(body)
    limit = int_field(body.get("max_tokens"), "max_tokens")
    if limit is None:
        raise EndpointError(400, "max_tokens: Field required", param="max_tokens")
    requested = request.model or ""
    model = ctx.response_model(requested)
    total = _prompt(body)
    cache = ctx.cache.anthropic(body, total, lambda prefix: prompt_tokens(prefix, "anthropic"))
    gen = generate(ctx, request, model=requested, limit=limit, length_fault=length_fault)
    uncached = total - cache.read - cache.write_5m - cache.write_1h
    usage = _usage(uncached, cache, gen, _service_tier(body))
    message_id = ctx.new_id("msg_", request)
    blocks = _blocks(ctx, request, gen)
    reply = Reply(
        usage=Usage(
            input=total,
            output=gen.output_tokens,
            cache_read=cache.read,
            cache_write_5m=cache.write_5m,
            cache_write_1h=cache.write_1h,
            reasoning=gen.reasoning_tokens,
        ),
        model=model,
        finish_reasons=(_stop_reason(gen),),
        outputs=(gen.text,),
        output_tokens=gen.output_tokens,
    )
    message = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": _stop_reason(gen),
        "stop_sequence": None,
        "usage": usage,
    }
    if not body.get("stream"):
        reply.body = message
        return reply
    reply.events = _stream(message, gen, requested)
    return reply


def _usage(
    uncached: int, cache: AnthropicCacheResult, gen: Generation, tier: str
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": uncached,
        "cache_creation_input_tokens": cache.write_5m + cache.write_1h,
        "cache_read_input_tokens": cache.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache.write_5m,
            "ephemeral_1h_input_tokens": cache.write_1h,
        },
        "output_tokens": gen.output_tokens,
        "service_tier": tier,
    }
    if gen.reasoning_tokens:
        usage["output_tokens_details"] = {"thinking_tokens": gen.reasoning_tokens}
    return usage


def _blocks(ctx: Context, request: SimRequest, gen: Generation) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if gen.text or not gen.tool_calls:
        blocks.append({"type": "text", "text": gen.text})
    for k, call in enumerate(gen.tool_calls):
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id or ctx.new_id("toolu_", request, k),
                "name": call.name,
                "input": dict(call.arguments),
            }
        )
    return blocks


def _stream(message: dict[str, Any], gen: Generation, model: str) -> list[SSEEvent]:
    events: list[SSEEvent] = []

    def emit(kind: str, tokens: int = 0, **fields: Any) -> None:
        events.append(SSEEvent(kind, {"type": kind, **fields}, tokens=tokens))

    usage = message["usage"]
    start_usage = {**usage, "output_tokens": min(usage["output_tokens"], 1)}
    start_usage.pop("output_tokens_details", None)
    emit(
        "message_start",
        message={
            **message,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": start_usage,
        },
    )
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            emit("content_block_start", index=index, content_block={"type": "text", "text": ""})
            if index == 0:
                emit("ping")
            for piece in gen.pieces:
                emit(
                    "content_block_delta",
                    tokens=1,
                    index=index,
                    delta={"type": "text_delta", "text": piece},
                )
        else:
            emit("content_block_start", index=index, content_block={**block, "input": {}})
            if index == 0:
                emit("ping")
            arguments = json.dumps(block["input"], separators=(",", ":"), ensure_ascii=False)
            for piece in split_tokens(arguments, model):
                emit(
                    "content_block_delta",
                    tokens=1,
                    index=index,
                    delta={"type": "input_json_delta", "partial_json": piece},
                )
        emit("content_block_stop", index=index)
    final_usage = {
        key: usage[key]
        for key in (
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
            "output_tokens_details",
        )
        if key in usage
    }
    emit(
        "message_delta",
        delta={"stop_reason": message["stop_reason"], "stop_sequence": None},
        usage=final_usage,
    )
    emit("message_stop")
    return events
