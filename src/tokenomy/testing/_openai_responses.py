"""``POST /v1/responses``: the OpenAI Responses API, non-streamed and streamed.

The stream follows the real event sequence: ``response.created``, ``response.in_progress``,
then per output item ``response.output_item.added`` ... ``response.output_item.done`` (a
reasoning item when reasoning tokens are configured; a message with ``content_part.added``,
``output_text.delta``..., ``output_text.done``, ``content_part.done``; function calls with
``function_call_arguments.delta``/``.done``), and ``response.completed`` (or
``response.incomplete`` when the answer was cut short) carrying the usage.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from tokenomy.testing._counting import split_tokens
from tokenomy.testing._faults import Fault
from tokenomy.testing._generate import Context, Generation, generate, int_field
from tokenomy.testing._openai_chat import openai_prompt_usage, service_tier
from tokenomy.testing._request import SimRequest
from tokenomy.testing._wire import EndpointError, Reply, SSEEvent
from tokenomy.usage import Usage

__all__ = ["handle_responses"]


def handle_responses(ctx: Context, request: SimRequest, length_fault: Fault | None) -> Reply:
    """Answer one Responses API request."""
    body = request.body
    items = body.get("input")
    if not (isinstance(items, str) and items) and not (isinstance(items, list) and items):
        raise EndpointError(400, "'input' must be a non-empty string or array.", param="input")
    limit = int_field(body.get("max_output_tokens"), "max_output_tokens")
    requested = request.model or ""
    model = ctx.response_model(requested)
    prompt, cached = openai_prompt_usage(ctx, request, "responses")
    gen = generate(ctx, request, model=requested, limit=limit, length_fault=length_fault)
    usage = {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": gen.output_tokens,
        "output_tokens_details": {"reasoning_tokens": gen.reasoning_tokens},
        "total_tokens": prompt + gen.output_tokens,
    }
    status = "incomplete" if gen.truncated else "completed"
    created = int(time.time())
    response_id = ctx.new_id("resp_", request, length=48)
    items_out = _output_items(ctx, request, gen, status)
    final = _response(body, response_id, created, model, status, items_out, usage)
    reply = Reply(
        usage=Usage(
            input=prompt,
            output=gen.output_tokens,
            cache_read=cached,
            reasoning=gen.reasoning_tokens,
        ),
        model=model,
        finish_reasons=(status,),
        outputs=(gen.text,),
        output_tokens=gen.output_tokens,
    )
    if not body.get("stream"):
        reply.body = final
        return reply
    start = _response(body, response_id, created, model, "in_progress", [], None)
    reply.events = _stream(start, final, items_out, gen, requested)
    return reply


def _output_items(
    ctx: Context, request: SimRequest, gen: Generation, status: str
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if gen.reasoning_tokens:
        items.append(
            {"id": ctx.new_id("rs_", request, length=48), "type": "reasoning", "summary": []}
        )
    if gen.text or not gen.tool_calls:
        items.append(
            {
                "id": ctx.new_id("msg_", request, length=48),
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": [_text_part(gen.text)],
            }
        )
    for k, call in enumerate(gen.tool_calls):
        items.append(
            {
                "id": ctx.new_id("fc_", request, k, length=48),
                "type": "function_call",
                "status": "completed",
                "arguments": call.arguments_json,
                "call_id": call.id or ctx.new_id("call_", request, k),
                "name": call.name,
            }
        )
    return items


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _response(
    body: Mapping[str, Any],
    response_id: str,
    created: int,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    reasoning = body.get("reasoning")
    if not isinstance(reasoning, Mapping):
        reasoning = {}
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "completed_at": created if status == "completed" else None,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": service_tier(body),
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": usage,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def _stream(
    start: dict[str, Any],
    final: dict[str, Any],
    items: list[dict[str, Any]],
    gen: Generation,
    model: str,
) -> list[SSEEvent]:
    events: list[SSEEvent] = []

    def emit(kind: str, tokens: int = 0, **fields: Any) -> None:
        data = {"type": kind, "sequence_number": len(events), **fields}
        events.append(SSEEvent(kind, data, tokens=tokens))

    emit("response.created", response=start)
    emit("response.in_progress", response=start)
    for index, item in enumerate(items):
        if item["type"] == "message":
            item_id = item["id"]
            emit(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            at = {"item_id": item_id, "output_index": index, "content_index": 0}
            emit("response.content_part.added", **at, part=_text_part(""))
            for piece in gen.pieces:
                emit("response.output_text.delta", tokens=1, **at, delta=piece, logprobs=[])
            emit("response.output_text.done", **at, text=gen.text, logprobs=[])
            emit("response.content_part.done", **at, part=_text_part(gen.text))
        elif item["type"] == "function_call":
            emit(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            at = {"item_id": item["id"], "output_index": index}
            for piece in split_tokens(item["arguments"], model):
                emit("response.function_call_arguments.delta", tokens=1, **at, delta=piece)
            emit(
                "response.function_call_arguments.done",
                **at,
                name=item["name"],
                arguments=item["arguments"],
            )
        else:
            emit("response.output_item.added", output_index=index, item=item)
        emit("response.output_item.done", output_index=index, item=item)
    done = "response.completed" if final["status"] == "completed" else "response.incomplete"
    emit(done, response=final)
    return events
