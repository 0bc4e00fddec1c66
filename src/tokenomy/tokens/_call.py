"""The estimated usage of one call whose provider reported none (flagged ``estimated``).

Both framework integrations and the call pipeline end up here when a response carries no
token counts: a stream without its final usage chunk (langchain-openai with a ``base_url``,
an OpenAI LlamaIndex stream without ``include_usage``), a custom model that reports nothing,
a stream cut off or abandoned before its end. They hand over the request in one
provider-neutral shape, OpenAI chat messages as plain dicts (``role``/``content``/
``tool_calls``/``tool_call_id``) or a plain prompt string, and what came back (text, or an
assistant message dict with ``tool_calls``).

The prompt is counted with the OpenAI chat rules (:func:`estimate_messages`), or with the
Anthropic estimator when ``provider`` is ``"anthropic"``: the messages are then rewritten the
way Anthropic's API takes them (system messages into ``system``, tool calls into
``tool_use`` blocks, tool results into ``tool_result`` blocks of a user turn, function tools
into ``input_schema`` tools). An estimate is best effort: it never raises, and a part that
cannot be counted counts zero (the record is flagged ``estimated`` either way).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tokenomy.tokens._anthropic import estimate_anthropic_body
from tokenomy.tokens._encoding import count_text
from tokenomy.tokens._openai_chat import estimate_messages
from tokenomy.tokens._text import dumps

if TYPE_CHECKING:
    from tokenomy.usage import Usage

__all__ = ["estimate_call"]

_LOG = logging.getLogger("tokenomy")
#: The encoding used when the call names no model (o200k_base, today's OpenAI default).
FALLBACK_MODEL = "gpt-4o"
#: Providers whose prompts are counted with the Anthropic estimator.
ANTHROPIC_PROVIDERS = frozenset({"anthropic"})


def estimate_call(
    messages: Sequence[Mapping[str, Any]] | str | None,
    output: Mapping[str, Any] | str | None,
    *,
    model: str | None,
    provider: str | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
) -> Usage:
    """An ``estimated=True`` :class:`~tokenomy.Usage` for a call whose provider reported none.

    ``messages``: OpenAI chat message dicts (``role``, ``content`` as a string or a list of
    parts, ``tool_calls``, ``tool_call_id``), or a plain prompt string (a completion call),
    or ``None`` (nothing known: zero prompt tokens). ``output``: the generated text, or the
    assistant message dict, whose ``tool_calls`` (name and arguments) are counted too.
    ``tools``: the tool definitions sent, in OpenAI function shape or Anthropic's. For
    ``provider="anthropic"`` the prompt follows Anthropic's rules (o200k_base); otherwise
    OpenAI's, in ``model``'s encoding (o200k_base when the model is unknown). Never raises.
    """
    from tokenomy.usage import Usage

    name = model or FALLBACK_MODEL
    prompt_tokens = output_tokens = 0
    if messages is not None:
        try:
            prompt_tokens = _prompt_tokens(messages, name, provider, tools)
        except Exception as exc:  # an estimate is best effort; the record is flagged anyway
            _LOG.debug("tokenomy: could not estimate the prompt of a %s call: %r", name, exc)
    if output:
        try:
            output_tokens = count_text(output_text(output), name)
        except Exception as exc:
            _LOG.debug("tokenomy: could not estimate the output of a %s call: %r", name, exc)
    return Usage(input=prompt_tokens, output=output_tokens, estimated=True)


def output_text(output: Mapping[str, Any] | str) -> str:
    """The text an estimate counts for what a call generated: content, then each tool call's
    name and arguments (as sent: a JSON string, or compact JSON of a dict)."""
    if isinstance(output, str):
        return output
    text = _text_of(output.get("content"))
    for call in output.get("tool_calls") or ():
        function = call.get("function", call) if isinstance(call, Mapping) else {}
        arguments = function.get("arguments", function.get("args"))
        text += str(function.get("name") or "") + (
            "" if arguments is None else dumps(arguments)
        )
    return text


def _prompt_tokens(
    messages: Sequence[Mapping[str, Any]] | str,
    model: str,
    provider: str | None,
    tools: Sequence[Mapping[str, Any]] | None,
) -> int:
    if isinstance(messages, str):  # a completion prompt
        return count_text(messages, model)
    if (provider or "").lower() in ANTHROPIC_PROVIDERS:
        try:
            return estimate_anthropic_body(anthropic_body(messages, model, tools)).prompt_tokens
        except Exception as exc:
            _LOG.debug("tokenomy: Anthropic estimate failed (%r); using the chat rules", exc)
    specs = openai_tools(tools)
    try:
        return estimate_messages(list(messages), model, tools=specs).prompt_tokens
    except Exception:
        if not specs:
            raise
        return estimate_messages(list(messages), model).prompt_tokens


# -- OpenAI chat shape → Anthropic messages body ---------------------------------------------


def anthropic_body(
    messages: Sequence[Mapping[str, Any]],
    model: str,
    tools: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The Anthropic ``/v1/messages`` body the provider-neutral ``messages`` stand for."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = str(message.get("role") or "user")
        if role in ("system", "developer"):
            system.append(_text_of(message.get("content")))
        elif role in ("tool", "function"):
            block = {
                "type": "tool_result",
                "tool_use_id": str(message.get("tool_call_id") or ""),
                "content": _anthropic_content(message.get("content")),
            }
            if turns and turns[-1]["role"] == "user" and _all_tool_results(turns[-1]):
                turns[-1]["content"].append(block)  # the API takes one user turn of results
            else:
                turns.append({"role": "user", "content": [block]})
        else:
            content = _anthropic_content(message.get("content"))
            calls = [_tool_use(c) for c in message.get("tool_calls") or ()]
            if calls:
                blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
                content = [b for b in blocks if b.get("type") != "text" or b.get("text")] + calls
            turns.append({"role": "assistant" if role == "assistant" else "user", "content": content})
    body: dict[str, Any] = {"model": model, "max_tokens": 1, "messages": turns}
    if system:
        body["system"] = "\n".join(system)
    if tools:
        body["tools"] = [_anthropic_tool(t) for t in tools]
    return body


def _all_tool_results(turn: Mapping[str, Any]) -> bool:
    content = turn.get("content")
    return isinstance(content, list) and all(b.get("type") == "tool_result" for b in content)


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "".join(
            p if isinstance(p, str) else str(p.get("text") or "")
            for p in content
            if isinstance(p, str) or (isinstance(p, Mapping) and p.get("type", "text") == "text")
        )
    return str(content)


def _anthropic_content(content: Any) -> str | list[dict[str, Any]]:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, Sequence):
        return str(content)
    return [_anthropic_block(p) for p in content]


def _anthropic_block(part: Any) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    if not isinstance(part, Mapping):
        return {"type": "text", "text": str(part)}
    if part.get("type") == "image_url":
        image = part.get("image_url")
        url = str(image.get("url") if isinstance(image, Mapping) else image or "")
        if url.startswith("data:") and ";base64," in url:
            media, data = url[5:].split(";base64,", 1)
            return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
        return {"type": "image", "source": {"type": "url", "url": url}}
    return dict(part)  # text parts, and blocks already in Anthropic's shape


def _tool_use(call: Any) -> dict[str, Any]:
    function = call.get("function", call) if isinstance(call, Mapping) else {}
    arguments = function.get("arguments", function.get("args"))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            arguments = {"input": arguments}
    return {
        "type": "tool_use",
        "id": str(call.get("id") or "") if isinstance(call, Mapping) else "",
        "name": str(function.get("name") or ""),
        "input": arguments if isinstance(arguments, Mapping) else {},
    }


def _anthropic_tool(tool: Mapping[str, Any]) -> Mapping[str, Any]:
    function = tool.get("function") if tool.get("type") == "function" else None
    if not isinstance(function, Mapping):
        return tool  # already Anthropic's shape (or a server tool)
    spec: dict[str, Any] = {"name": function.get("name") or ""}
    if function.get("description"):
        spec["description"] = function["description"]
    spec["input_schema"] = function.get("parameters") or {"type": "object", "properties": {}}
    return spec


def openai_tools(
    tools: Sequence[Mapping[str, Any]] | None,
) -> list[Mapping[str, Any]] | None:
    """``tools`` in OpenAI's function shape (Anthropic ``input_schema`` tools converted)."""
    if not tools or isinstance(tools, (str, bytes)) or not isinstance(tools, Sequence):
        return None
    out: list[Mapping[str, Any]] = []
    for tool in tools:
        if not isinstance(tool, Mapping):
            return None
        if "input_schema" in tool and "function" not in tool:
            function = {k: v for k, v in tool.items() if k in ("name", "description")}
            function["parameters"] = tool["input_schema"]
            out.append({"type": "function", "function": function})
        else:
            out.append(tool)
    return out
