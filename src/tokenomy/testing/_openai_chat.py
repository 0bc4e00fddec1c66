"""``POST /v1/chat/completions``: non-streamed, streamed (SSE), ``n`` choices, tool calls."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from tokenomy.exceptions import TokenCountError
from tokenomy.testing._caching import render_openai_prompt
from tokenomy.testing._counting import prompt_tokens, split_tokens, token_ids
from tokenomy.testing._faults import Fault
from tokenomy.testing._generate import Context, Generation, generate, int_field
from tokenomy.testing._request import SimRequest
from tokenomy.testing._wire import EndpointError, Reply, SSEEvent
from tokenomy.usage import Usage

__all__ = ["handle_chat", "openai_prompt_usage", "service_tier"]

_FINGERPRINT = "fp_tokenomy_sim"


def service_tier(body: Mapping[str, Any]) -> str:
    """The tier OpenAI reports: the requested one (``"auto"`` runs as ``"default"``)."""
    tier = body.get("service_tier")
    return "default" if tier in (None, "auto") else str(tier)


def openai_prompt_usage(ctx: Context, request: SimRequest, api: str) -> tuple[int, int]:
    """(prompt tokens, cached tokens) of an OpenAI chat or Responses request."""
    body = request.body
    model = request.model or ""
    try:
        prompt = prompt_tokens(body, "openai")
    except TokenCountError as exc:
        raise EndpointError(400, f"Invalid request body: {exc}") from exc
    rendered = token_ids(render_openai_prompt(body, api), model)
    cached = ctx.cache.openai_cached_tokens(model, rendered, prompt)
    return prompt, cached


def _finish_reason(gen: Generation) -> str:
    if gen.truncated:
        return "length"
    return "tool_calls" if gen.tool_calls else "stop"


def handle_chat(ctx: Context, request: SimRequest, length_fault: Fault | None) -> Reply:
    """Answer one chat completions request."""
    body = request.body
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise EndpointError(400, "'messages' must be a non-empty array.", param="messages")
    n = int_field(body.get("n"), "n") or 1
    if n > 128:
        raise EndpointError(400, f"Invalid 'n': at most 128 choices, got {n}.", param="n")
    limit = int_field(body.get("max_completion_tokens"), "max_completion_tokens")
    if limit is None:
        limit = int_field(body.get("max_tokens"), "max_tokens")
    requested = request.model or ""
    model = ctx.response_model(requested)
    prompt, cached = openai_prompt_usage(ctx, request, "chat.completions")
    gens = [
        generate(ctx, request, model=requested, limit=limit, length_fault=length_fault, choice=i)
        for i in range(n)
    ]
    reasoning = sum(g.reasoning_tokens for g in gens)
    completion = sum(g.output_tokens for g in gens)
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    head = {
        "id": ctx.new_id("chatcmpl-", request),
        "created": int(time.time()),
        "model": model,
        "service_tier": service_tier(body),
        "system_fingerprint": _FINGERPRINT,
    }
    calls = [_tool_calls(ctx, request, i, g) for i, g in enumerate(gens)]
    stream = bool(body.get("stream"))
    options = body.get("stream_options")
    include_usage = stream and isinstance(options, Mapping) and bool(options.get("include_usage"))
    reply = Reply(
        usage=Usage(input=prompt, output=completion, cache_read=cached, reasoning=reasoning),
        usage_reported=include_usage or not stream,
        model=model,
        finish_reasons=tuple(_finish_reason(g) for g in gens),
        outputs=tuple(g.text for g in gens),
        output_tokens=completion,
    )
    if not stream:
        reply.body = {
            **head,
            "object": "chat.completion",
            "choices": [
                {
                    "index": i,
                    "message": _message(g, calls[i]),
                    "logprobs": None,
                    "finish_reason": _finish_reason(g),
                }
                for i, g in enumerate(gens)
            ],
            "usage": usage,
        }
        return reply
    reply.events = _stream(head, gens, calls, usage if include_usage else None, requested)
    return reply


def _tool_calls(
    ctx: Context, request: SimRequest, choice: int, gen: Generation
) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id or ctx.new_id("call_", request, choice, k),
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_json},
        }
        for k, call in enumerate(gen.tool_calls)
    ]


def _message(gen: Generation, calls: list[dict[str, Any]]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": gen.text if (gen.text or not calls) else None,
        "refusal": None,
        "annotations": [],
    }
    if calls:
        message["tool_calls"] = calls
    return message


def _stream(
    head: dict[str, Any],
    gens: list[Generation],
    calls: list[list[dict[str, Any]]],
    usage: dict[str, Any] | None,
    model: str,
) -> list[SSEEvent]:
    def chunk(choice: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        data = {
            **head,
            "object": "chat.completion.chunk",
            "choices": [
                {"index": choice, "delta": delta, "logprobs": None, "finish_reason": finish}
            ],
        }
        if usage is not None:
            data["usage"] = None
        return data

    events = [
        SSEEvent(None, chunk(i, {"role": "assistant", "content": "", "refusal": None}))
        for i in range(len(gens))
    ]
    longest = max((len(g.pieces) for g in gens), default=0)
    for t in range(longest):
        for i, gen in enumerate(gens):
            if t < len(gen.pieces):
                events.append(SSEEvent(None, chunk(i, {"content": gen.pieces[t]}), tokens=1))
    for i, choice_calls in enumerate(calls):
        for k, call in enumerate(choice_calls):
            start = {
                "index": k,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            events.append(SSEEvent(None, chunk(i, {"tool_calls": [start]}), tokens=1))
            for piece in split_tokens(call["function"]["arguments"], model):
                delta = {"tool_calls": [{"index": k, "function": {"arguments": piece}}]}
                events.append(SSEEvent(None, chunk(i, delta), tokens=1))
    for i, gen in enumerate(gens):
        events.append(SSEEvent(None, chunk(i, {}, _finish_reason(gen))))
    if usage is not None:
        events.append(
            SSEEvent(
                None, {**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            )
        )
    events.append(SSEEvent(None, "[DONE]"))
    return events
