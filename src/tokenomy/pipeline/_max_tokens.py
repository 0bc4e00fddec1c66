"""``MaxTokens``: an output-token limit on every call that has none.

Output tokens cost 4-8x input tokens, and a model left without a limit can write far more than
the task needs. ``MaxTokens`` sets ``max_tokens`` where the caller set none, per task (named by
a tag, ``task=classify``, on the call or on an enclosing ``track()`` block), and leaves a value
the caller set unless ``cap=True``. A response cut by the limit (``finish_reason`` length /
``max_tokens``) is recorded with ``truncated=True``, so reports show the truncation rate per
feature: the sign a limit is too tight.
"""

from __future__ import annotations

from collections.abc import Mapping

from tokenomy.exceptions import ConfigurationError
from tokenomy.pipeline._policy import Policy
from tokenomy.pipeline._request import ModelRequest

__all__ = ["MaxTokens"]


def _limit(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"MaxTokens {name} must be a whole number >= 1, got {value!r}")
    return value


class MaxTokens(Policy):
    """Set ``max_tokens`` on calls that have none.

    * ``default``: the limit for calls whose task has no limit of its own (``None``: leave
      them alone).
    * ``per_task``: limits by task, e.g. ``{"classify": 8, "summarize": 400}``; the task is
      the value of tag ``task_tag`` (default ``"task"``) on the call or its ``track()`` block.
    * ``cap``: also lower a limit the caller set above this one (default: the caller's value
      is kept).
    """

    name = "max_tokens"

    def __init__(
        self,
        default: int | None = None,
        *,
        per_task: Mapping[str, int] | None = None,
        task_tag: str = "task",
        cap: bool = False,
    ) -> None:
        self.default = None if default is None else _limit("default", default)
        self.per_task = {str(k): _limit(f"per_task[{k!r}]", v) for k, v in (per_task or {}).items()}
        if not task_tag:
            raise ConfigurationError("MaxTokens task_tag must be a non-empty tag name")
        self.task_tag = task_tag
        self.cap = cap

    def limit_for(self, request: ModelRequest) -> int | None:
        """The limit this policy gives ``request`` (before looking at the caller's own)."""
        if self.per_task:
            task = request.tag(self.task_tag)
            if task is not None and task in self.per_task:
                return self.per_task[task]
        return self.default

    def before(self, request: ModelRequest) -> ModelRequest:
        limit = self.limit_for(request)
        if limit is None:
            return request
        current = request.max_tokens
        if current is None or (self.cap and current > limit):
            return request.with_params(max_tokens=limit)
        return request

    def __repr__(self) -> str:
        return (
            f"MaxTokens(default={self.default!r}, per_task={self.per_task!r}, "
            f"task_tag={self.task_tag!r}, cap={self.cap!r})"
        )
