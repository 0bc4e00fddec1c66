"""The state of one model run between its start and its end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import Context
from typing import Any
from uuid import UUID

__all__ = ["ModelRun", "serialized_name"]


class ModelRun:
    """One model run between its start and its end."""

    __slots__ = (
        "context",
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

    def __init__(self) -> None:
        self.start = 0.0
        self.first_token: float | None = None
        self.streamed = False
        self.kind: str = "chat"
        self.name: str | None = None
        self.model: str | None = None
        self.provider: str | None = None
        self.params: Mapping[str, Any] | None = None
        self.prompt: Sequence[Any] | None = None
        self.metadata: Mapping[str, Any] | None = None
        self.tags: Sequence[str] | None = None
        self.parent_run_id: UUID | None = None
        self.root_id: UUID | None = None
        self.root_name: str | None = None
        self.context: Context | None = None


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
