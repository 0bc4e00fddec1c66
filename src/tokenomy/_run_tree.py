"""The run tree: which open run encloses which, the root of each, and how runs are named.

Frameworks hand each event a run id and its parent's id, never the root. A :class:`RunTree`
remembers, for every run that opened and has not closed yet, a :class:`RunNode`: its parent,
the root run above it and that root's name, and the :func:`tokenomy.track` blocks active where
the root opened. So a model call can be attributed to the outermost run above it in O(1)
(``root_run_id``, tag ``run_name``), even when it is made from a plain thread that copied no
context. Both framework integrations keep one (LangChain: chain/tool/retriever runs per
handler; LlamaIndex: the dispatcher's spans, process-wide); what the ids and names look like
in each framework is parsed there, not here.

Rules:

* A run whose parent this tree never saw (or that closed already) is a root *for this tree*:
  its ``root_id`` is that parent's id (so calls under it group together), its ``root_name``
  the run's own name. A run without a parent is its own root.
* Naming (:func:`with_run_name`): a record's tag ``run_name`` is its root run's name, at the
  lowest precedence of its tags: one set in framework metadata, an enclosing ``track()``
  block or a handler's ``tags`` wins.
* Bounded: at most ``max_open`` runs are kept; opening one more forgets the oldest (a run
  whose close never came). Closed runs are forgotten at once.
* Thread-safe without a lock: each step is one dict operation (atomic), and eviction
  tolerates a dict changed by another thread.
"""

from __future__ import annotations

from collections.abc import Hashable
from contextlib import suppress
from typing import TYPE_CHECKING, Generic, TypeVar

from tokenomy._tracking import _active

if TYPE_CHECKING:
    from tokenomy._tracking import Tracker

__all__ = ["RUN_NAME_TAG", "RunNode", "RunTree", "with_run_name"]

#: The type of a framework's run ids (LangChain: ``uuid.UUID``; LlamaIndex: ``str``).
K = TypeVar("K", bound=Hashable)

#: The tag holding a record's root run name.
RUN_NAME_TAG = "run_name"
#: Open runs a tree keeps by default before forgetting the oldest.
MAX_OPEN_RUNS = 50_000


class RunNode(Generic[K]):
    """One open run as its tree knows it."""

    __slots__ = ("chain", "parent_id", "root_id", "root_name")

    def __init__(
        self,
        parent_id: K | None,
        root_id: K,
        root_name: str | None,
        chain: tuple[Tracker, ...] = (),
    ) -> None:
        #: The parent run's id as the framework gave it (``None``: a run without a parent).
        self.parent_id = parent_id
        #: The outermost run above this one that the tree saw (see the module's rules).
        self.root_id = root_id
        #: The root's name (``None`` when the framework gave none).
        self.root_name = root_name
        #: The ``tokenomy.track()`` blocks active where the root run opened (empty if none).
        self.chain = chain

    def __repr__(self) -> str:
        return (
            f"RunNode(parent_id={self.parent_id!r}, root_id={self.root_id!r}, "
            f"root_name={self.root_name!r})"
        )


class RunTree(Generic[K]):
    """Open runs → their :class:`RunNode` (bounded, thread-safe; see the module's rules)."""

    __slots__ = ("_nodes", "max_open")

    def __init__(self, max_open: int = MAX_OPEN_RUNS) -> None:
        if max_open < 1:
            raise ValueError(f"max_open must be at least 1, got {max_open}")
        self._nodes: dict[K, RunNode[K]] = {}
        self.max_open = max_open

    def open(self, run_id: K, parent_id: K | None = None, name: str | None = None) -> RunNode[K]:
        """Remember a run that opened under ``parent_id``; returns its node.

        ``name`` is the run's name, kept as the root name when the run is a root for this
        tree (runs below a known parent inherit that parent's root and root name).
        """
        nodes = self._nodes
        parent = None if parent_id is None else nodes.get(parent_id)
        if parent is not None:
            node: RunNode[K] = RunNode(parent_id, parent.root_id, parent.root_name, parent.chain)
        else:
            # A root: calls made under it from a plain thread (no context copied) still get
            # the tags and trackers of the track() block it opened in.
            root = run_id if parent_id is None else parent_id
            node = RunNode(parent_id, root, name, _active.get())
        if len(nodes) >= self.max_open:
            _drop_oldest(nodes)
        nodes[run_id] = node
        return node

    def close(self, run_id: K) -> None:
        """Forget a run that ended, failed or was dropped (unknown ids are ignored)."""
        self._nodes.pop(run_id, None)

    def get(self, run_id: K | None) -> RunNode[K] | None:
        """The node of an open run (``None`` for ``None`` or a run this tree does not hold)."""
        return None if run_id is None else self._nodes.get(run_id)

    def parent(self, run_id: K) -> K | None:
        """The parent id of an open run (``None`` for a run without one, or not held)."""
        node = self._nodes.get(run_id)
        return None if node is None else node.parent_id

    def clear(self) -> None:
        """Forget every open run (runs open now will never be seen to close)."""
        self._nodes.clear()

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._nodes

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._nodes)} open runs)"


def _drop_oldest(nodes: dict[K, RunNode[K]]) -> None:
    with suppress(StopIteration, KeyError, RuntimeError):  # emptied/changed by another thread
        del nodes[next(iter(nodes))]


def with_run_name(
    tags: dict[str, str] | None, root_name: str | None
) -> dict[str, str] | None:
    """A call's framework tags with tag ``run_name`` = ``root_name`` unless already set.

    These are the lowest-precedence tags of a record (see the module's naming rule); ``tags``
    is changed in place and returned (a new dict when it is ``None`` and there is a name).
    """
    if not root_name:
        return tags
    if tags is None:
        return {RUN_NAME_TAG: root_name}
    if RUN_NAME_TAG not in tags:
        tags[RUN_NAME_TAG] = root_name
    return tags

