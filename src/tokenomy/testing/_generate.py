"""Turning an answer into generated output: token pieces, length limits, reasoning tokens."""

from __future__ import annotations

import fnmatch
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from tokenomy.exceptions import ConfigurationError
from tokenomy.testing._answers import AnswerBook, ToolCall
from tokenomy.testing._caching import PromptCache
from tokenomy.testing._counting import split_tokens, text_tokens
from tokenomy.testing._faults import Fault
from tokenomy.testing._request import SimRequest
from tokenomy.testing._wire import EndpointError

__all__ = [
    "Context",
    "Generation",
    "ReasoningSetting",
    "generate",
    "int_field",
    "reasoning_rule",
    "stable_id",
]

#: Reasoning tokens per call: a count, ``{model glob: count}``, or ``(request) -> count``.
ReasoningSetting = int | Mapping[str, int] | Callable[[SimRequest], int] | None


def reasoning_rule(setting: ReasoningSetting) -> Callable[[SimRequest], int]:
    """Validate a reasoning setting and return it as a function of the request."""
    if setting is None:
        return lambda _request: 0
    if isinstance(setting, bool):
        raise ConfigurationError("reasoning_tokens must be an int, a mapping or a callable")
    if isinstance(setting, int):
        if setting < 0:
            raise ConfigurationError(f"reasoning_tokens must be >= 0, got {setting}")
        fixed = setting
        return lambda _request: fixed
    if isinstance(setting, Mapping):
        table = dict(setting)
        for pattern, count in table.items():
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise ConfigurationError(
                    f"reasoning_tokens[{pattern!r}] must be an int >= 0, got {count!r}"
                )

        def by_model(request: SimRequest) -> int:
            model = request.model or ""
            if model in table:
                return table[model]
            for pattern, count in table.items():
                if fnmatch.fnmatchcase(model, pattern):
                    return count
            return 0

        return by_model
    if callable(setting):
        func = setting

        def checked(request: SimRequest) -> int:
            count = func(request)
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise ConfigurationError(
                    f"the reasoning_tokens callable must return an int >= 0, got {count!r}"
                )
            return count

        return checked
    raise ConfigurationError(
        f"reasoning_tokens must be an int, a {{model glob: int}} mapping or a callable "
        f"(request) -> int, got {type(setting).__name__}"
    )


@dataclass(slots=True)
class Context:
    """What the endpoints need from their simulator."""

    answers: AnswerBook
    cache: PromptCache
    reasoning: Callable[[SimRequest], int]
    model_aliases: Mapping[str, str] = field(default_factory=dict)
    embedding_dimensions: int | None = None
    salt: str = field(default_factory=lambda: uuid.uuid4().hex)

    def new_id(self, prefix: str, request: SimRequest, *parts: object, length: int = 24) -> str:
        """A provider-style id unique to this simulator, request and ``parts``."""
        return stable_id(prefix, self.salt, request.index, *parts, length=length)

    def response_model(self, requested: str) -> str:
        """The model name reported back (the requested one, or its configured alias)."""
        return self.model_aliases.get(requested, requested)


@dataclass(frozen=True, slots=True)
class Generation:
    """One generated choice."""

    text: str
    pieces: tuple[str, ...]
    tool_calls: tuple[ToolCall, ...]
    visible_tokens: int
    reasoning_tokens: int
    truncated: bool

    @property
    def output_tokens(self) -> int:
        """Every generated token, reasoning included."""
        return self.visible_tokens + self.reasoning_tokens


def _tool_tokens(call: ToolCall, model: str) -> int:
    return text_tokens(call.name, model) + text_tokens(call.arguments_json, model)


def generate(
    ctx: Context,
    request: SimRequest,
    *,
    model: str,
    limit: int | None = None,
    length_fault: Fault | None = None,
    choice: int = 0,
) -> Generation:
    """Produce choice ``choice`` of ``request``: the next answer, cut short by a length fault
    or by ``limit`` (the request's max tokens, which counts reasoning tokens too)."""
    req = replace(request, choice=choice) if choice else request
    answer = ctx.answers.next(req)
    reasoning = (
        answer.reasoning_tokens if answer.reasoning_tokens is not None else ctx.reasoning(req)
    )
    pieces = split_tokens(answer.text, model)
    tool_calls = answer.tool_calls
    keep: int | None = None
    if length_fault is not None:
        total = len(pieces) + sum(_tool_tokens(c, model) for c in tool_calls)
        keep = length_fault.tokens if length_fault.tokens is not None else max(total // 2, 1)
        keep = min(keep, len(pieces))
    elif limit is not None:
        budget = max(limit - reasoning, 0)
        reasoning = min(reasoning, limit)
        needed = len(pieces) + sum(_tool_tokens(c, model) for c in tool_calls)
        if needed > budget:
            keep = min(budget, len(pieces))
    truncated = keep is not None
    if keep is not None:
        pieces = pieces[:keep]
        tool_calls = ()
    text = "".join(pieces)
    visible = text_tokens(text, model) + sum(_tool_tokens(c, model) for c in tool_calls)
    return Generation(
        text=text,
        pieces=tuple(pieces),
        tool_calls=tool_calls,
        visible_tokens=visible,
        reasoning_tokens=reasoning,
        truncated=truncated,
    )


def int_field(value: object, name: str) -> int | None:
    """An optional int >= 0 request field (``max_tokens`` and friends); 400 when invalid."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EndpointError(
            400, f"Invalid '{name}': expected an integer >= 0, got {value!r}.", param=name
        )
    return value


def stable_id(prefix: str, *parts: object, length: int = 24) -> str:
    """A deterministic provider-style id (``chatcmpl-...``, ``call_...``) from ``parts``."""
    digest = hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()
    return prefix + digest[:length]
