"""The state of one model run between its start and its end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from tokenomy import Tracker

__all__ = ["ModelRun", "serialized_name"]


class ModelRun:
    """One model run between its start and its end."""

    __slots__ = (
        "chain",
        "first_token",
        "kind",
        "metadata",
        "model",
        "name",
        "params",
        "parent_run_id",
        "prompt",
        "provider",
        "root_id",
        "root_name",
        "start",
        "streamed",
        "tags",
    )

    def __init__(
        self,
        start: float,
        kind: str,
        name: str | None,
        model: str | None,
        provider: str | None,
        params: Mapping[str, Any] | None,
        prompt: Sequence[Any] | None,
        metadata: Mapping[str, Any] | None,
        tags: Sequence[str] | None,
        parent_run_id: UUID | None,
        root_id: UUID,
        root_name: str | None,
        chain: tuple[Tracker, ...],
    ) -> None:
        self.start = start
        self.first_token: float | None = None
        self.streamed = False
        self.kind = kind
        self.name = name
        self.model = model
        self.provider = provider
        self.params = params
        self.prompt = prompt
        self.metadata = metadata
        self.tags = tags
        self.parent_run_id = parent_run_id
        self.root_id = root_id
        self.root_name = root_name
        #: The ``tokenomy.track()`` blocks the call is attributed to.
        self.chain = chain


def serialized_name(serialized: Mapping[str, Any] | None) -> str | None:
    """The run name LangChain's tracers use: ``serialized["name"]``, else the class id."""
    if not serialized:
        return None
    name = serialized.get("name")
    if isinstance(name, str) and name:
        return name
    ids = serialized.get("id")
    if isinstance(ids, list) and ids and isinstance(ids[-1], str):
        return ids[-1]
    return None
