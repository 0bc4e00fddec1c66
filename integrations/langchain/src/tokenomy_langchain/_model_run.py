"""The state of one model run between its start and its end, and the process-wide open runs.

:data:`OPEN` maps each started, not yet ended model run to its :class:`ModelRun`, whose
``owner`` is the handler that records it. That makes one model run produce one record when
several tokenomy handlers see it (one passed in ``callbacks=`` and one attached by
:func:`tokenomy_langchain.track`): an explicitly passed handler takes the run over from one
attached by ``track()``, and only the owner records when the run ends. LangChain fires every
handler's start before the model is called and every end after it, one handler after the other,
so each step is one atomic dict operation and no lock is needed.

A start keeps references only (the work of reading them is done once, at the end): the hot path
of every model call is one dict insert here and one removal at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from tokenomy import Tracker
    from tokenomy_langchain._runs import TreeNode

__all__ = ["MAX_OPEN_RUNS", "OPEN", "ModelRun", "drop_oldest", "prompt_of", "serialized_name"]

#: Open runs kept before dropping the oldest (a run that never ended).
MAX_OPEN_RUNS = 50_000


class ModelRun:
    """One model run between its start and its end."""

    __slots__ = (
        "chain",
        "first_token",
        "inputs",
        "kind",
        "kwargs",
        "metadata",
        "node",
        "owner",
        "parent_run_id",
        "serialized",
        "start",
        "streamed",
        "tags",
    )

    def __init__(
        self,
        start: float,
        owner: Any,
        kind: str,
        serialized: Mapping[str, Any] | None,
        inputs: Sequence[Any],
        tags: Sequence[str] | None,
        metadata: Mapping[str, Any] | None,
        kwargs: Mapping[str, Any],
        parent_run_id: UUID | None,
        chain: tuple[Tracker, ...],
        node: TreeNode | None,
    ) -> None:
        self.start = start
        #: The handler that records this run.
        self.owner = owner
        #: ``"chat"`` (``inputs`` are the message lists) or ``"completion"`` (prompt strings).
        self.kind = kind
        self.serialized = serialized
        self.inputs = inputs
        self.tags = tags
        self.metadata = metadata
        #: The rest of the start event's keyword arguments (``invocation_params``, ``name``).
        self.kwargs = kwargs
        self.parent_run_id = parent_run_id
        #: The ``tokenomy.track()`` blocks active where the run started.
        self.chain = chain
        #: The open chain/tool run above it in the owner's run tree (``None``: it is a root).
        self.node = node
        self.first_token: float | None = None
        self.streamed = False


#: Model runs started and not yet ended, process-wide.
OPEN: dict[UUID, ModelRun] = {}


def drop_oldest(d: dict[UUID, Any]) -> None:
    """Forget the oldest entry of ``d`` (a run whose end never came)."""
    with suppress(StopIteration, KeyError, RuntimeError):  # emptied/changed by another thread
        del d[next(iter(d))]


def prompt_of(run: ModelRun) -> Any:
    """What the run sent: its messages (chat) or its prompt text (completion)."""
    inputs = run.inputs
    if run.kind == "chat":
        return inputs[0] if len(inputs) == 1 else [m for ms in inputs for m in ms]
    return inputs[0] if len(inputs) == 1 else "\n".join(inputs)


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
