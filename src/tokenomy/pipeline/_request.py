"""The provider-neutral request a pipeline's policies see and may change.

A wrapper (LangChain's ``TokenomyChatModel``, LlamaIndex's ``TokenomyLLM``...) translates the
framework's call into a :class:`ModelRequest` once; every policy reads and replaces it; the
wrapper's sender turns the final request back into the framework's call. Messages are plain
dicts in OpenAI chat shape, whatever the provider::

    {"role": "system" | "user" | "assistant" | "tool", "content": str | list[part],
     "tool_calls": [{"id", "type": "function", "function": {"name", "arguments"}}],
     "tool_call_id": str, "name": str}

A request is frozen: a policy changes it with :meth:`ModelRequest.replace` or
:meth:`ModelRequest.with_params`, so one policy's change never leaks into another attempt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["GENERATION_PARAMS", "CallKind", "Message", "ModelRequest", "RunInfo"]

#: One chat message as a plain dict (OpenAI chat shape, see the module docstring).
Message = dict[str, Any]
CallKind = Literal["chat", "completion", "embedding", "other"]

_EMPTY: Mapping[str, Any] = {}

#: The call keywords a wrapper moves into :attr:`ModelRequest.params` (provider-neutral
#: generation parameters); any other keyword passes to the wrapped model untouched.
GENERATION_PARAMS: tuple[str, ...] = (
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "tools",
    "tool_choice",
    "response_format",
    "seed",
    "n",
    "parallel_tool_calls",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInfo:
    """Where a call sits in the caller's run tree (LangChain run ids, LlamaIndex spans...).

    All optional: a call with no ``run_id`` gets a fresh one, hung under the innermost
    :func:`tokenomy.track` block. Every attempt of one call is recorded under this run.
    """

    run_id: Any = None
    parent_run_id: Any = None
    root_run_id: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRequest:
    """One model call as policies see it, before it is sent.

    * ``model``/``provider``: what is asked for (``None``: the wrapped model's default, unknown
      to tokenomy; such calls are recorded as unpriced, never dropped).
    * ``messages``: the conversation as plain dicts (module docstring); ``prompt`` instead for
      a completion call.
    * ``params``: generation parameters under provider-neutral names: ``max_tokens``,
      ``temperature``, ``top_p``, ``stop``, ``tools`` (OpenAI function-tool dicts),
      ``tool_choice``, ``response_format``, ``seed``, ``n``... A parameter absent from
      ``params`` was not set by the caller (the model's own default applies).
    * ``tags``: attribution for this call (merged over the enclosing ``track()`` blocks').
    * ``native``: the framework's own request, for the wrapper's sender; opaque to policies.
    * ``annotate``: set by a policy that judges each answer (a cascade's quality gate):
      ``annotate(response)`` runs once the attempt's answer is complete, just before it is
      recorded, and returns tags added to that attempt's record only (the verdict and its
      score). An annotator that raises costs the record nothing: it is stored with tag
      ``annotate_error`` = the error's class name.
    """

    model: str | None
    messages: Sequence[Message] = ()
    prompt: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    provider: str | None = None
    kind: CallKind = "chat"
    stream: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    run: RunInfo = field(default_factory=RunInfo)
    name: str | None = None
    framework: str | None = None
    native: Any = field(default=None, compare=False, repr=False)
    annotate: Callable[[Any], Mapping[str, Any]] | None = field(
        default=None, compare=False, repr=False
    )

    # -- reading ---------------------------------------------------------------------------

    @property
    def max_tokens(self) -> int | None:
        """The output-token limit the caller or a policy set (``None``: the model's default)."""
        value = self.params.get("max_tokens")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def tools(self) -> Sequence[Mapping[str, Any]]:
        """The tools offered to the model (empty when none)."""
        tools = self.params.get("tools")
        return tools if isinstance(tools, Sequence) and not isinstance(tools, str) else ()

    def tag(self, key: str, default: str | None = None) -> str | None:
        """The value of tag ``key`` for this call: its own tags, else the enclosing
        :func:`tokenomy.track` blocks'."""
        value = self.tags.get(key)
        if value is not None:
            return value
        from tokenomy._tracking import current_tags

        return current_tags().get(key, default)

    # -- changing (a new request each time) ------------------------------------------------

    def replace(self, **changes: Any) -> ModelRequest:
        """A copy with ``changes`` applied (any field: ``model``, ``messages``, ``tags``...)."""
        return dataclasses.replace(self, **changes)

    def with_params(self, **changes: Any) -> ModelRequest:
        """A copy whose ``params`` have ``changes`` applied; a value of ``None`` removes one."""
        params = dict(self.params)
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        return dataclasses.replace(self, params=params)

    def with_tags(self, **tags: Any) -> ModelRequest:
        """A copy with more tags (values become strings; ``None`` removes a tag)."""
        merged = dict(self.tags)
        for key, value in tags.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = str(value)
        return dataclasses.replace(self, tags=merged)
