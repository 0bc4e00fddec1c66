"""The chain, tool and retriever events a handler needs to know each model run's root."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from tokenomy import current_trackers
from tokenomy_langchain._model_run import serialized_name
from tokenomy_langchain._runs import RunTree

__all__ = ["RunTreeEvents"]


class RunTreeEvents:
    """Callback methods that keep :attr:`_tree` (mixed into the handler)."""

    _tree: RunTree

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
        self._tree.end(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._tree.end(run_id)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._tree.end(run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._tree.end(run_id)

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._tree.end(run_id)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._tree.end(run_id)

    def _open(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str | None,
        serialized: Mapping[str, Any] | None,
    ) -> None:
        try:
            node, is_root = self._tree.start(
                run_id, parent_run_id, name or serialized_name(serialized)
            )
            if is_root:
                # Calls made under this run from a plain thread (no context copied) still
                # get the tags and trackers of the track() block the run started in.
                node.chain = current_trackers()
        except Exception as exc:
            self._fail("on_chain_start", run_id, exc)
