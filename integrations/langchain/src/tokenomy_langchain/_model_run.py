"""The state of one model run between its start and its end, and the process-wide open runs.

:data:`OPEN` maps each started, not yet ended model run to its :class:`ModelRun`, whose
``owner`` is the handler that records it. That makes one model run produce one record when
several tokenomy handlers see it (one passed in ``callbacks=`` and one attached by
:func:`tokenomy_langchain.track`): an explicitly passed handler takes the run over from one
attached by ``track()``, and only the owner records when the run ends. LangChain fires every
handler's start before the model is called and every end after it, one handler after the other,
so each step is one atomic dict operation and no lock is needed.

A start keeps references only (the work of reading them is done once, at the end): the hot path
of every model call is one tuple, one dict insert here and one removal at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Any

__all__ = ["MAX_OPEN_RUNS", "OPEN", "ModelRun", "Stream", "drop_oldest", "prompt_of", "serialized_name"]

#: Open runs kept before dropping the oldest (a run that never ended).
MAX_OPEN_RUNS = 50_000


#: One model run between its start and its end, as a plain tuple (built on every model call's
#: hot path: a tuple costs a tenth of an object with slots). Fields, by position:
ModelRun = tuple[Any, ...]
START = 0  #: perf_counter() at the start
OWNER = 1  #: the handler that records the run
KIND = 2  #: "chat" (INPUTS are the message lists) or "completion" (prompt strings)
SERIALIZED = 3  #: the start event's ``serialized``
INPUTS = 4  #: the messages or prompts sent
TAGS = 5  #: LangChain run tags
METADATA = 6  #: LangChain run metadata
KWARGS = 7  #: the rest of the start event's keyword arguments (invocation_params, name)
PARENT = 8  #: the parent run id
CHAIN = 9  #: the tokenomy.track() blocks active where the run started
NODE = 10  #: the open chain/tool run above it in the owner's run tree (None: it is a root)


class Stream:
    """What a streamed run's tokens told: that it streamed, and when the first one came."""

    __slots__ = ("first_token",)

    def __init__(self) -> None:
        self.first_token: float | None = None


#: Model runs started and not yet ended, process-wide, keyed by the run id's ``.int`` (a
#: ``uuid.UUID`` hashes in Python; its int hashes in C) or the run id itself if not a UUID.
OPEN: dict[Any, ModelRun] = {}


def drop_oldest(d: dict[Any, Any]) -> None:
    """Forget the oldest entry of ``d`` (a run whose end never came)."""
    with suppress(StopIteration, KeyError, RuntimeError):  # emptied/changed by another thread
        del d[next(iter(d))]


def prompt_of(run: ModelRun) -> Any:
    """What the run sent: its messages (chat) or its prompt text (completion)."""
    inputs = run[INPUTS]
    if run[KIND] == "chat":
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
