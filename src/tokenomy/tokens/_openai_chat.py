"""OpenAI Chat Completions: the cookbook rule for messages, best effort for the rest.

Plain-text messages are counted exactly with the model family's :class:`ChatFormat`. Tool
calls, tool results, tool definitions, images, files and ``response_format`` schemas are
rendered by OpenAI in formats it does not publish: they are approximated and flag the result
``estimated`` with a ``method`` naming why (e.g. ``"openai-chat+tools"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens._chat_format import ChatFormat, chat_format
from tokenomy.tokens._encoding import encoding_name_for_model, get_encoding
from tokenomy.tokens._images import openai_image_tokens
from tokenomy.tokens._result import TokenEstimate
from tokenomy.tokens._schema import builtin_tool_tokens, render_response_format, render_tools
from tokenomy.tokens._text import dumps, encode_len

if TYPE_CHECKING:
    import tiktoken

__all__ = ["Tally", "estimate_chat_body", "estimate_messages"]

# Fitted on the shared cassettes (gpt-5.x Responses requests with function tools): the
# rendered ``# Tools`` section plus this many tokens.
TOOLS_SECTION_EXTRA = 2
# A tool call: `` to=functions.{name}`` + `` <|constrain|>json`` around the arguments; with
# TOOL_RESULT_EXTRA fitted on 9 gpt-5.x Responses tool loops (5 exact, the rest within 3).
TOOL_CALL_EXTRA = 5
# A tool result: the author ``functions.{name}`` and `` to=assistant`` header, roughly.
TOOL_RESULT_EXTRA = 6
# A chat ``response_format`` schema goes into its own developer message: 3 + role.
RESPONSE_FORMAT_MESSAGE = 4


@dataclass(slots=True)
class Tally:
    """Running count of one request's prompt tokens and the reasons it is an estimate."""

    model: str
    fmt: ChatFormat
    enc: tiktoken.Encoding
    encoding: str
    total: int = 0
    reasons: set[str] = field(default_factory=set)

    @classmethod
    def for_model(cls, model: str) -> Tally:
        """A fresh tally in ``model``'s encoding and chat format."""
        name = encoding_name_for_model(model)
        return cls(model=model, fmt=chat_format(model), enc=get_encoding(name), encoding=name)

    def text(self, text: str) -> None:
        """Add the tokens of ``text``."""
        self.total += encode_len(self.enc, text)

    def message(self, role: str, content: Any, *, name: str | None = None) -> None:
        """Add one message: the per-message cost, its role, name and content."""
        self.total += self.fmt.per_message + encode_len(self.enc, role)
        if role == "assistant":
            self.total += self.fmt.assistant_extra
        if name:
            self.total += encode_len(self.enc, name) + self.fmt.per_name
        self.content(content)

    def content(self, content: Any) -> None:
        """Add message content given as a string or a list of parts."""
        if content is None:
            return
        if isinstance(content, str):
            self.text(content)
            return
        if not isinstance(content, Sequence):
            raise TokenCountError(
                f"message content must be a string or a list of parts, got {type(content).__name__}"
            )
        for part in content:
            self.part(part)

    def part(self, part: Any) -> None:
        """Add one content part (text, image, audio, file)."""
        if isinstance(part, str):
            self.text(part)
            return
        if not isinstance(part, Mapping):
            raise TokenCountError(f"content part must be a dict, got {type(part).__name__}")
        kind = str(part.get("type", "text"))
        if kind in ("text", "input_text", "output_text"):
            self.text(str(part.get("text") or ""))
        elif kind == "refusal":
            self.text(str(part.get("refusal") or ""))
        elif kind in ("image_url", "input_image", "image"):
            self.reasons.add("images")
            self.total += openai_image_tokens(part, self.model)
        else:  # input_audio, file, input_file, ...: contents unknown until the provider
            # extracts them, so only the file name is counted (never the base64 payload).
            self.reasons.add(kind.replace("_", "-"))
            spec = part.get("file", part)
            if isinstance(spec, Mapping) and isinstance(spec.get("filename"), str):
                self.text(spec["filename"])

    def tool_call(self, name: str, arguments: Any) -> None:
        """Add one tool call the assistant made (best effort)."""
        self.reasons.add("tool-calls")
        self.total += TOOL_CALL_EXTRA + encode_len(self.enc, name)
        self.text(dumps(arguments if arguments is not None else ""))

    def tool_result(self, content: Any, name: str | None = None) -> None:
        """Add one tool result message (best effort)."""
        self.reasons.add("tool-results")
        self.total += self.fmt.per_message + TOOL_RESULT_EXTRA
        if name:
            self.text(name)
        self.content(content)

    def tools(self, tools: Sequence[Mapping[str, Any]]) -> None:
        """Add tool definitions (function tools rendered; built-in tools approximated)."""
        if not tools:
            return
        if isinstance(tools, (str, bytes)) or not isinstance(tools, Sequence):
            raise TokenCountError(f"tools must be a list of dicts, got {type(tools).__name__}")
        self.reasons.add("tools")
        text, others = render_tools(tools)
        if text:
            self.total += encode_len(self.enc, text) + TOOLS_SECTION_EXTRA
        for tool in others:
            self.total += builtin_tool_tokens(self.enc, tool)

    def response_format(self, response_format: Mapping[str, Any], *, own_message: bool) -> None:
        """Add a ``json_schema`` response format (a ``json_object`` format costs nothing)."""
        text = render_response_format(response_format)
        if text is None:
            return
        self.reasons.add("response-format")
        self.total += encode_len(self.enc, text)
        if own_message:
            self.total += RESPONSE_FORMAT_MESSAGE

    def result(self, method: str) -> TokenEstimate:
        """The estimate, with the reply priming added."""
        return TokenEstimate(
            prompt_tokens=self.total + self.fmt.reply_priming,
            estimated=bool(self.reasons),
            encoding=self.encoding,
            method=method + "".join(f"+{r}" for r in sorted(self.reasons)),
        )


def estimate_messages(
    messages: Sequence[Mapping[str, Any]],
    model: str,
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    response_format: Mapping[str, Any] | None = None,
) -> TokenEstimate:
    """Prompt tokens of an OpenAI chat request with these ``messages`` (and ``tools``).

    Exact (``estimated=False``) for plain-text messages (string content or text parts);
    tool calls, tool results, tool definitions, images, audio, files and ``response_format``
    schemas make it an estimate whose ``method`` names why (e.g. ``"openai-chat+tools"``).
    """
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise TokenCountError(
            f"messages must be a list of message dicts, got {type(messages).__name__}"
        )
    tally = Tally.for_model(model)
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise TokenCountError(
                f"messages[{index}] must be a dict with 'role' and 'content', "
                f"got {type(message).__name__}"
            )
        _add_chat_message(tally, message)
    tally.tools(list(tools or ()))
    if response_format:
        tally.response_format(response_format, own_message=True)
    return tally.result("openai-chat")


def _add_chat_message(tally: Tally, message: Mapping[str, Any]) -> None:
    role = str(message.get("role") or "user")
    if role in ("tool", "function"):
        tally.tool_result(message.get("content"), message.get("name"))
        return
    calls = list(message.get("tool_calls") or ())
    if message.get("function_call"):
        calls.append({"function": message["function_call"]})
    content = message.get("content")
    if calls and not content:
        tally.total += tally.fmt.per_message + encode_len(tally.enc, role)
    else:
        tally.message(role, content, name=message.get("name"))
    for call in calls:
        function = call.get("function", call) if isinstance(call, Mapping) else {}
        tally.tool_call(str(function.get("name") or ""), function.get("arguments"))


def estimate_chat_body(body: Mapping[str, Any]) -> TokenEstimate:
    """Estimate an OpenAI ``/v1/chat/completions`` request body."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise TokenCountError(
            "OpenAI chat request body has no 'model' string; expected "
            '{"model": "gpt-4o", "messages": [{"role": "user", "content": "..."}]}'
        )
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise TokenCountError(
            f"OpenAI chat request body needs a 'messages' list, got "
            f"{type(messages).__name__}; expected [{{'role': 'user', 'content': '...'}}]"
        )
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise TokenCountError(f"'tools' must be a list of dicts, got {type(tools).__name__}")
    tools = tools + [{"type": "function", "function": f} for f in body.get("functions") or []]
    return estimate_messages(
        messages, model, tools=tools or None, response_format=body.get("response_format")
    )
