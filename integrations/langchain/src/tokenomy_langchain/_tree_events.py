"""The chain, tool and retriever events a handler needs to know each model run's root.

They feed the handler's :class:`tokenomy.RunTree` (one per handler): a run opens on its start
event and closes on its end or error event. The run's name is the one LangChain's tracers
use (the ``name`` passed, else :func:`~tokenomy_langchain._model_run.serialized_name`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from tokenomy import RunTree
from tokenomy_langchain._model_run import serialized_name

__all__ = ["RunTreeEvents"]


class RunTreeEvents:
    """Callback methods that keep :attr:`_tree` (mixed into the handler)."""

    _tree: RunTree[UUID]

    def _fail(self, where: str, run_id: UUID, exc: BaseException) -> None:
        raise NotImplementedError

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._open(run_id, parent_run_id, kwargs.get("name"), serialized)

    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._open(run_id, parent_run_id, kwargs.get("name"), serialized)

    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._open(run_id, parent_run_id, kwargs.get("name"), serialized)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._tree.close(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._tree.close(run_id)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._tree.close(run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._tree.close(run_id)

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._tree.close(run_id)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._tree.close(run_id)

    def _open(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str | None,
        serialized: Mapping[str, Any] | None,
    ) -> None:
        try:
            self._tree.open(run_id, parent_run_id, name or serialized_name(serialized))
        except Exception as exc:
            self._fail("on_chain_start", run_id, exc)
