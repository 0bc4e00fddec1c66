"""OpenAI Responses API request bodies (``/v1/responses``).

``instructions`` become a developer message and ``input`` (a string, or a list of items) the
conversation; message items are counted with the same per-family rule as chat messages,
which the shared cassettes confirm for gpt-4o-mini, gpt-5.x and gpt-6 models. Other items
(function calls and their outputs, reasoning, server-side tool calls, compaction) are
approximated and flag the estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens._openai_chat import Tally
from tokenomy.tokens._result import TokenEstimate
from tokenomy.tokens._text import dumps

__all__ = ["estimate_responses_body"]

# Item fields that never reach the model.
_META = frozenset({"id", "status", "call_id", "type", "annotations", "encrypted_content"})


def estimate_responses_body(body: Mapping[str, Any]) -> TokenEstimate:
    """Estimate an OpenAI Responses request: ``instructions``, ``input`` items and tools."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise TokenCountError(
            "OpenAI Responses request body has no 'model' string; expected "
            '{"model": "gpt-4o", "input": "..." or [{"role": "user", "content": "..."}]}'
        )
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise TokenCountError(
            f"OpenAI Responses 'input' must be a string or a list of items, got "
            f"{type(items).__name__}"
        )
    tally = Tally.for_model(model)
    if body.get("instructions"):
        tally.message("developer", body["instructions"])
    if body.get("previous_response_id"):
        tally.reasons.add("previous-response")  # the stored conversation is not in the body
    names = {
        item.get("call_id"): str(item.get("name") or "")
        for item in items
        if isinstance(item, Mapping) and item.get("type") == "function_call"
    }
    last_user = max(
        (i for i, item in enumerate(items) if _is_message(item) and item.get("role") == "user"),
        default=-1,
    )
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise TokenCountError(
                f"input[{index}] must be a dict (a message or an item), got {type(item).__name__}"
            )
        _add_item(tally, item, names, before_last_user=index < last_user)
    tally.tools(list(body.get("tools") or ()))
    text = body.get("text")
    if isinstance(text, Mapping) and isinstance(text.get("format"), Mapping):
        tally.response_format(text["format"], own_message=False)
    return tally.result("openai-responses")


def _is_message(item: Any) -> bool:
    return isinstance(item, Mapping) and "role" in item and item.get("type", "message") == "message"


def _add_item(
    tally: Tally, item: Mapping[str, Any], names: dict[Any, str], *, before_last_user: bool
) -> None:
    kind = item.get("type", "message")
    if _is_message(item):
        tally.message(str(item["role"]), item.get("content"))
    elif kind == "function_call":
        tally.total += tally.fmt.per_message + tally.fmt.assistant_extra + 1
        tally.tool_call(str(item.get("name") or ""), item.get("arguments"))
    elif kind in ("function_call_output", "custom_tool_call_output"):
        tally.tool_result(item.get("output"), names.get(item.get("call_id")))
    elif kind == "reasoning":
        tally.reasons.add("reasoning-items")
        if not before_last_user:  # earlier turns' reasoning is dropped from the prompt
            for summary in item.get("summary") or ():
                if isinstance(summary, Mapping):
                    tally.text(str(summary.get("text") or ""))
    else:  # server-side tool calls, compaction, MCP items, item references, ...
        tally.reasons.add(str(kind).replace("_", "-"))
        tally.text(dumps({k: v for k, v in item.items() if k not in _META}))
