"""The span tree: which LlamaIndex span encloses which, and the root of each.

LlamaIndex wraps every public component method (``RetrieverQueryEngine.query``,
``OpenAI.chat``, ``OpenAIEmbedding.get_text_embedding_batch``...) in a span whose id is
``"<Class>.<method>-<uuid4>"``; the LLM callbacks stamp each event with the id of the LLM
method's span. :class:`TokenomySpanHandler` keeps, for every *open* span, its parent and its
root, so a call's record can name the span that enclosed it (``parent_run_id``) and the root
span of the whole query, chat or agent run (``root_run_id``), and so a call nested in another
LLM call can be recognised (see :mod:`tokenomy_llamaindex._calls`).

The tree itself is the core's :class:`tokenomy.RunTree` (its rules: roots, bounds, thread
safety); what is LlamaIndex's is here: span ids, and names read from them. Only open spans
are kept (an entry is removed when its span exits or is dropped).
"""

from __future__ import annotations

import inspect
from typing import Any, overload

from llama_index.core.instrumentation.span import BaseSpan
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from pydantic import Field

from tokenomy import RunTree

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


class SpanTree(RunTree[str]):
    """The open spans, a :class:`tokenomy.RunTree` keyed by span id (thread-safe).

    ``seen_any`` says whether a span handler fed it at all (without one, records have no run
    tree and nested calls cannot be recognised). A root's name is not kept: it is read from
    the root span's id (:func:`span_name`) when a call is recorded.
    """

    __slots__ = ("seen_any",)

    def __init__(self) -> None:
        super().__init__()
        self.seen_any = False

    def place(self, span_id: str | None) -> tuple[str | None, str | None]:
        """``(parent id, root id)`` of an open span; ``(None, span_id)`` when unknown."""
        node = self.get(span_id)
        if node is None:
            return None, span_id
        return node.parent_id, node.root_id


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
        """Open the span under its parent (its root: the parent's root, or the parent
        itself when that closed already and its root is unknown: ``RunTree.open``)."""
        tree = self.tree
        tree.open(id_, parent_id)
        tree.seen_any = True

    def span_exit(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        result: Any | None = None,
        **kwargs: Any,
    ) -> None:
        """Forget the span."""
        self.tree.close(id_)

    def span_drop(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        err: BaseException | None = None,
        **kwargs: Any,
    ) -> None:
        """Forget the span (the call it belonged to raised)."""
        self.tree.close(id_)

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
