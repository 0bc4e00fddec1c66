"""What a LangChain model run sent, in the core's normalised shape, for the record's request
hashes (:func:`tokenomy.request_hashes`). Built only when the call is stored or first read
(``store_call(request=...)``), never on the calling thread's record path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from tokenomy import NormalisedRequest

__all__ = ["request_source"]


def request_source(
    inputs: Any, kind: str, params: Mapping[str, Any] | None
) -> Callable[[], NormalisedRequest]:
    """A callable returning the run's normalised request (``inputs``: the start event's
    messages, a list of message lists, or prompts; ``params``: its ``invocation_params``)."""
    return partial(_normalise, inputs, kind, params)


def _normalise(inputs: Any, kind: str, params: Mapping[str, Any] | None) -> NormalisedRequest:
    tools = (params or {}).get("tools")
    tool_list = list(tools) if isinstance(tools, list) else None
    if kind != "chat":
        prompt = inputs[0] if len(inputs) == 1 else "\n".join(inputs)
        return NormalisedRequest(prompt, tool_list, params)
    messages = inputs[0] if len(inputs) == 1 else [m for ms in inputs for m in ms]
    plain = _plain(messages)
    if plain is None:
        from langchain_core.messages import convert_to_openai_messages

        plain = convert_to_openai_messages(list(messages))
    return NormalisedRequest(plain, tool_list, params)


_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


def _plain(messages: Any) -> list[dict[str, Any]] | None:
    """The messages as ``convert_to_openai_messages`` gives them, for the usual case only
    (human, AI and system messages with string content and no tool calls, as it converts them
    (role, content, name), about a tenth of its time); ``None`` for anything else."""
    out: list[dict[str, Any]] = []
    for m in messages:
        # the fields as pydantic keeps them (a missing one read through getattr raises inside
        # pydantic's __getattr__ first, most of this function's time)
        f = getattr(m, "__dict__", None)
        if f is None:
            return None
        role = _ROLES.get(f.get("type", ""))
        content = f.get("content")
        if role is None or type(content) is not str or f.get("tool_calls"):
            return None
        if role == "assistant" and f.get("invalid_tool_calls"):
            return None
        d: dict[str, Any] = {"role": role, "content": content}
        name = f.get("name")
        if name is not None:
            d["name"] = name
        out.append(d)
    return out
