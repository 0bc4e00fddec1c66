"""LangChain's run tree as one handler sees it, and which handler records a model run.

LangChain hands every callback a ``run_id`` and a ``parent_run_id`` but never the root. A
:class:`RunTree` remembers, for each chain, tool and retriever run that has started and not
yet ended, the root it belongs to and that root's name, so a model run can be attributed to
the outermost run above it in O(1). Finished runs are forgotten at once and the map is capped,
so a long-lived handler's memory stays bounded even if some run never reports its end.

:class:`Claims` makes one model run produce one record when several tokenomy handlers see it
(one passed in ``callbacks=`` and one attached by :func:`tokenomy_langchain.track`): every
handler claims the run when it starts, an explicitly passed handler takes the claim over one
attached by ``track()``, and only the holder records when the run ends. LangChain fires every
handler's start before the model is called, so the claim is settled before any end arrives.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from tokenomy import Tracker

__all__ = ["CLAIMS", "MAX_OPEN_RUNS", "Claims", "RunTree", "TreeNode"]

#: Open runs a tree or the claims keep before dropping the oldest (a run that never ended).
MAX_OPEN_RUNS = 50_000


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
            _drop_oldest(nodes)
        nodes[run_id] = node
        return node, parent is None

    def lookup(self, run_id: UUID, parent_run_id: UUID | None, name: str | None) -> TreeNode:
        """The node a model run belongs to, without remembering the model run itself."""
        parent = self._nodes.get(parent_run_id) if parent_run_id is not None else None
        if parent is not None:
            return parent
        return TreeNode(parent_run_id or run_id, name)

    def end(self, run_id: UUID) -> None:
        """Forget a run that ended (or failed)."""
        self._nodes.pop(run_id, None)

    def __len__(self) -> int:
        return len(self._nodes)


class Claims:
    """Which handler records each open model run (process-wide, thread-safe).

    Lock-free: each step is one atomic dict operation, and LangChain fires the handlers of one
    run one after the other (every start before the model is called, every end after it).
    """

    __slots__ = ("_owners",)

    def __init__(self) -> None:
        self._owners: dict[UUID, Any] = {}

    def claim(self, run_id: UUID, handler: Any, *, attached: bool) -> None:
        """``handler`` saw ``run_id`` start; an explicit handler beats an attached one."""
        owners = self._owners
        current = owners.setdefault(run_id, handler)
        if current is handler:
            if len(owners) > MAX_OPEN_RUNS:
                _drop_oldest(owners)
        elif not attached and current._attached:
            owners[run_id] = handler

    def release(self, run_id: UUID, handler: Any) -> bool:
        """True (and the claim is dropped) when ``handler`` holds ``run_id``'s claim."""
        owners = self._owners
        if owners.get(run_id) is handler:
            owners.pop(run_id, None)
            return True
        return False

    def __len__(self) -> int:
        return len(self._owners)


def _drop_oldest(d: dict[UUID, Any]) -> None:
    with suppress(StopIteration, KeyError, RuntimeError):  # emptied/changed by another thread
        del d[next(iter(d))]


#: The one registry every handler in the process shares.
CLAIMS = Claims()
