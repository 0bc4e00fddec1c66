"""LangChain's run tree as one handler sees it.

LangChain hands every callback a ``run_id`` and a ``parent_run_id`` but never the root. A
:class:`RunTree` remembers, for each chain, tool and retriever run that has started and not
yet ended, the root it belongs to and that root's name, so a model run can be attributed to
the outermost run above it in O(1). Finished runs are forgotten at once and the map is capped,
so a long-lived handler's memory stays bounded even if some run never reports its end.
(Which handler records a model run is settled in ``_model_run.py``.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from tokenomy_langchain._model_run import MAX_OPEN_RUNS, drop_oldest

if TYPE_CHECKING:
    from tokenomy import Tracker

__all__ = ["RunTree", "TreeNode"]


class TreeNode:
    """What a started run passes to the runs under it."""

    __slots__ = ("chain", "root_id", "root_name")

    def __init__(
        self, root_id: UUID, root_name: str | None, chain: tuple[Tracker, ...] = ()
    ) -> None:
        self.root_id = root_id
        self.root_name = root_name
        #: The ``tokenomy.track()`` blocks active where the root run started (empty if none).
        self.chain = chain


class RunTree:
    """Open chain/tool/retriever runs → their root (thread-safe: dict operations are atomic)."""

    __slots__ = ("_nodes",)

    def __init__(self) -> None:
        self._nodes: dict[UUID, TreeNode] = {}

    def start(
        self, run_id: UUID, parent_run_id: UUID | None, name: str | None
    ) -> tuple[TreeNode, bool]:
        """Remember a run that started; returns its node and whether it is a root.

        A run whose parent this tree never saw (the handler was attached below the top of the
        tree) is a root for this handler, grouped under its parent's id with its own name.
        """
        parent = self._nodes.get(parent_run_id) if parent_run_id is not None else None
        node = parent if parent is not None else TreeNode(parent_run_id or run_id, name)
        nodes = self._nodes
        if len(nodes) >= MAX_OPEN_RUNS:
            drop_oldest(nodes)
        nodes[run_id] = node
        return node, parent is None

    def get(self, run_id: UUID | None) -> TreeNode | None:
        """The node of an open run (``None`` for a run this tree never saw, or ``None``)."""
        return None if run_id is None else self._nodes.get(run_id)

    def end(self, run_id: UUID) -> None:
        """Forget a run that ended (or failed)."""
        self._nodes.pop(run_id, None)

    def __len__(self) -> int:
        return len(self._nodes)
