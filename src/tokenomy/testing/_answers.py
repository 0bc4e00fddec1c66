"""Deterministic answers: scripted queues, per-model rules, echo, templates, callables."""

from __future__ import annotations

import fnmatch
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tokenomy.exceptions import ConfigurationError
from tokenomy.testing._request import SimRequest

__all__ = [
    "DEFAULT_ANSWER",
    "Answer",
    "AnswerBook",
    "AnswerLike",
    "AnswerRule",
    "ToolCall",
    "echo",
    "template",
    "to_answer",
]

#: What the simulator says when nothing else is configured.
DEFAULT_ANSWER = "Hello from the tokenomy provider simulator."


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool (function) call the simulated model makes: ``name`` plus JSON ``arguments``.

    ``id`` defaults to a deterministic ``call_...``/``toolu_...`` id made from the request.
    """

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigurationError(f"ToolCall needs a non-empty name, got {self.name!r}")
        if not isinstance(self.arguments, Mapping):
            raise ConfigurationError(
                f"ToolCall arguments must be a dict (sent as JSON), got "
                f"{type(self.arguments).__name__}"
            )

    @property
    def arguments_json(self) -> str:
        """The arguments as the compact JSON string OpenAI sends."""
        return json.dumps(dict(self.arguments), separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Answer:
    """One simulated model answer: ``text``, and/or ``tool_calls``.

    ``reasoning_tokens`` overrides the simulator's reasoning setting for this answer.
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning_tokens: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ConfigurationError(f"Answer text must be a str, got {type(self.text).__name__}")
        calls = tuple(self.tool_calls)
        for call in calls:
            if not isinstance(call, ToolCall):
                raise ConfigurationError(
                    f"Answer.tool_calls holds ToolCall objects, got {type(call).__name__}"
                )
        object.__setattr__(self, "tool_calls", calls)
        if self.reasoning_tokens is not None and self.reasoning_tokens < 0:
            raise ConfigurationError(f"reasoning_tokens must be >= 0, got {self.reasoning_tokens}")

    @classmethod
    def tool(
        cls,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        id: str | None = None,
        text: str = "",
    ) -> Answer:
        """An answer that calls one tool."""
        return cls(text=text, tool_calls=(ToolCall(name, dict(arguments or {}), id),))


AnswerLike = str | Answer | ToolCall
#: A rule computing the answer from the request.
AnswerRule = Callable[[SimRequest], AnswerLike]


def to_answer(value: object) -> Answer:
    """Normalise a ``str`` / :class:`Answer` / :class:`ToolCall` into an :class:`Answer`."""
    if isinstance(value, Answer):
        return value
    if isinstance(value, str):
        return Answer(text=value)
    if isinstance(value, ToolCall):
        return Answer(tool_calls=(value,))
    raise ConfigurationError(
        f"an answer must be a str, Answer or ToolCall, got {type(value).__name__}: {value!r}"
    )


def echo(prefix: str = "") -> AnswerRule:
    """A rule answering with the last user message (after ``prefix``)."""

    def rule(request: SimRequest) -> str:
        return prefix + request.last_user_text

    return rule


def template(fmt: str) -> AnswerRule:
    """A rule formatting ``fmt`` with ``{last_user}``, ``{system}``, ``{model}``, ``{api}``,
    ``{provider}`` and ``{index}`` (the request's number)."""
    try:
        fmt.format_map(_TemplateFields.probe())
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigurationError(
            f"bad answer template {fmt!r}: {exc!r}. Fields: {sorted(_TemplateFields.names)}; "
            f"double braces ({{{{ }}}}) for literal ones."
        ) from exc

    def rule(request: SimRequest) -> str:
        return fmt.format_map(
            {
                "last_user": request.last_user_text,
                "system": request.system_text,
                "model": request.model or "",
                "api": request.api or "",
                "provider": request.provider or "",
                "index": request.index,
            }
        )

    return rule


class _TemplateFields:
    names = frozenset({"last_user", "system", "model", "api", "provider", "index"})

    @classmethod
    def probe(cls) -> dict[str, Any]:
        return {name: 0 if name == "index" else "" for name in cls.names}


def _glob(value: str, pattern: str) -> bool:
    return value == pattern or fnmatch.fnmatchcase(value, pattern)


@dataclass(slots=True)
class _Scripted:
    answer: Answer
    model: str | None


class AnswerBook:
    """Where each answer comes from, in order: the scripted queue (first entry whose model
    pattern matches), then ``per_model`` rules (exact name first, then globs in order), then
    the default rule. Thread-safe."""

    def __init__(
        self,
        default: AnswerLike | AnswerRule = DEFAULT_ANSWER,
        *,
        per_model: Mapping[str, AnswerLike | AnswerRule] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Scripted] = []
        self._default = _as_rule(default)
        self._per_model: dict[str, AnswerRule] = {
            k: _as_rule(v) for k, v in (per_model or {}).items()
        }

    def script(self, answers: Iterable[AnswerLike], *, model: str | None = None) -> None:
        items = [_Scripted(to_answer(a), model) for a in answers]
        with self._lock:
            self._queue.extend(items)

    def set_default(self, rule: AnswerLike | AnswerRule) -> None:
        with self._lock:
            self._default = _as_rule(rule)

    def set_for_model(self, model: str, rule: AnswerLike | AnswerRule) -> None:
        with self._lock:
            self._per_model[model] = _as_rule(rule)

    @property
    def pending(self) -> int:
        """Scripted answers not yet used."""
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def next(self, request: SimRequest) -> Answer:
        """The answer for ``request`` (consumes a scripted one when one matches)."""
        model = request.model or ""
        with self._lock:
            for i, item in enumerate(self._queue):
                if item.model is None or _glob(model, item.model):
                    del self._queue[i]
                    return item.answer
            rule = self._per_model.get(model)
            if rule is None:
                for pattern, candidate in self._per_model.items():
                    if _glob(model, pattern):
                        rule = candidate
                        break
            if rule is None:
                rule = self._default
        return to_answer(rule(request))


def _as_rule(value: AnswerLike | AnswerRule) -> AnswerRule:
    if isinstance(value, (str, Answer, ToolCall)):
        fixed = to_answer(value)
        return lambda _request: fixed
    if callable(value):
        return value
    raise ConfigurationError(
        f"an answer rule is a str, Answer, ToolCall or a callable (request) -> str, "
        f"got {type(value).__name__}"
    )
