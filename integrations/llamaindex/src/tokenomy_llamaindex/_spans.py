"""The span tree: which LlamaIndex span encloses which, and the root of each.

LlamaIndex wraps every public component method (``RetrieverQueryEngine.query``,
``OpenAI.chat``, ``OpenAIEmbedding.get_text_embedding_batch``...) in a span whose id is
``"<Class>.<method>-<uuid4>"``; the LLM callbacks stamp each event with the id of the LLM
method's span. :class:`TokenomySpanHandler` keeps, for every *open* span, its parent and its
root, so a call's record can name the span that enclosed it (``parent_run_id``) and the root
span of the whole query, chat or agent run (``root_run_id``), and so a call nested in another
LLM call can be recognised (see :mod:`tokenomy_llamaindex._calls`).

Only open spans are kept (an entry is removed when its span exits or is dropped), so the
memory used is bounded by the depth and concurrency of the running code.
"""

from __future__ import annotations

import inspect
from typing import Any, overload

from llama_index.core.instrumentation.span import BaseSpan
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from pydantic import Field

__all__ = ["SpanTree", "TokenomySpanHandler", "span_name"]

_UUID_SUFFIX = 37  # "-" + a 36-character uuid4


@overload
def span_name(span_id: str) -> str: ...
@overload
def span_name(span_id: None) -> None: ...
@overload
def span_name(span_id: str | None) -> str | None: ...
def span_name(span_id: str | None) -> str | None:
    """``"RetrieverQueryEngine.query"`` for ``"RetrieverQueryEngine.query-<uuid4>"``."""
    if span_id is None:
        return None
    if len(span_id) > _UUID_SUFFIX and span_id[-_UUID_SUFFIX] == "-":
        return span_id[:-_UUID_SUFFIX]
    return span_id


class SpanTree:
    """Open spans: ``id -> (parent id, root id)``. Thread-safe (single dict operations)."""

    __slots__ = ("seen_any", "spans")

    def __init__(self) -> None:
        self.spans: dict[str, tuple[str | None, str]] = {}
        self.seen_any = False

    def leave(self, span_id: str) -> None:
        """Forget a span that exited or was dropped."""
        self.spans.pop(span_id, None)

    def place(self, span_id: str | None) -> tuple[str | None, str | None]:
        """``(parent id, root id)`` of an open span; ``(None, span_id)`` when unknown."""
        if span_id is None:
            return None, None
        entry = self.spans.get(span_id)
        if entry is None:
            return None, span_id
        return entry

    def parent(self, span_id: str) -> str | None:
        """The parent of an open span (``None`` for a root or an unknown span)."""
        entry = self.spans.get(span_id)
        return None if entry is None else entry[0]


#: The process-wide tree, fed by the span handler that ``instrument()``/``track()`` attach.
TREE = SpanTree()


class TokenomySpanHandler(BaseSpanHandler[BaseSpan]):
    """Feeds :data:`TREE` from the dispatcher's span signals (it keeps no span objects).

    Attached to the root dispatcher by :func:`tokenomy_llamaindex.instrument` and
    :func:`tokenomy_llamaindex.track`; attach it yourself next to a hand-attached
    :class:`~tokenomy_llamaindex.TokenomyEventHandler` with
    ``get_dispatcher().add_span_handler(TokenomySpanHandler())``.
    """

    # A plain (excluded) field, not a PrivateAttr: read on every span, it must be cheap.
    tree: SpanTree = Field(default_factory=lambda: TREE, exclude=True, repr=False)

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "TokenomySpanHandler"

    def span_enter(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Record the new span under its parent (its root: the parent's root, or the parent
        itself when that closed already and its root is unknown)."""
        tree = self.tree
        if parent_id is None:
            tree.spans[id_] = (None, id_)
        else:
            parent = tree.spans.get(parent_id)
            tree.spans[id_] = (parent_id, parent[1] if parent is not None else parent_id)
        tree.seen_any = True

    def span_exit(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        result: Any | None = None,
        **kwargs: Any,
    ) -> None:
        """Forget the span (``SpanTree.leave``, inlined)."""
        self.tree.spans.pop(id_, None)

    def span_drop(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        err: BaseException | None = None,
        **kwargs: Any,
    ) -> None:
        """Forget the span (the call it belonged to raised)."""
        self.tree.leave(id_)

    # The three hooks below are BaseSpanHandler's abstract API; span_enter/exit/drop are
    # overridden above, so they are never called.
    def new_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> BaseSpan | None:
        """Not used: no span objects are kept."""
        return None

    def prepare_to_exit_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        result: Any | None = None,
        **kwargs: Any,
    ) -> BaseSpan | None:
        """Not used: no span objects are kept."""
        return None

    def prepare_to_drop_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        err: BaseException | None = None,
        **kwargs: Any,
    ) -> BaseSpan | None:
        """Not used: no span objects are kept."""
        return None
