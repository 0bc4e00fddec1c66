"""``TokenomyEventHandler``: records LLM and embedding calls from instrumentation events.

LlamaIndex's ``llm_chat_callback``/``llm_completion_callback`` decorators emit
``LLMChat*``/``LLMCompletion*`` Start, InProgress (one per streamed piece) and End events for
``chat``/``complete``/``stream_*`` and their async variants, stamped with the span id of the
LLM method; embedding models emit ``EmbeddingStartEvent``/``EmbeddingEndEvent`` per batch.
A handler's exceptions are swallowed by the dispatcher, so this handler only *tracks*: it
never blocks or alters a call. Anything that goes wrong while recording is logged on the
``tokenomy_llamaindex`` logger.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.embedding import (
    EmbeddingEndEvent,
    EmbeddingStartEvent,
)
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionInProgressEvent,
    LLMCompletionStartEvent,
)
from llama_index_instrumentation.events.span import SpanDropEvent
from pydantic import Field

from tokenomy import WarnOnce
from tokenomy.exceptions import TokenomyWarning
from tokenomy_llamaindex._calls import CallRecorder, log
from tokenomy_llamaindex._spans import TREE

__all__ = ["TokenomyEventHandler"]

_Route = Callable[[CallRecorder, Any], None]


def _chat_start(rec: CallRecorder, e: LLMChatStartEvent) -> None:
    rec.start(e.span_id, "chat", e.model_dict, e.messages, None, e.additional_kwargs.get("tools"))


def _completion_start(rec: CallRecorder, e: LLMCompletionStartEvent) -> None:
    rec.start(e.span_id, "completion", e.model_dict, None, e.prompt)


def _progress(rec: CallRecorder, e: Any) -> None:
    rec.chunk(e.span_id, e.response)


def _end(rec: CallRecorder, e: Any) -> None:
    rec.end(e.span_id, e.response)


def _exception(rec: CallRecorder, e: ExceptionEvent) -> None:
    rec.fail(e.span_id, e.exception)


def _span_drop(rec: CallRecorder, e: SpanDropEvent) -> None:
    # Dispatched from the span wrapper's ``except`` block: the exception is the one in flight.
    rec.fail(e.span_id, sys.exc_info()[1] or e.err_str)


def _embed_start(rec: CallRecorder, e: EmbeddingStartEvent) -> None:
    rec.embed_start(e.span_id, e.model_dict)


def _embed_end(rec: CallRecorder, e: EmbeddingEndEvent) -> None:
    rec.embed_end(e.span_id, e.chunks)


# Exact classes: a dict lookup per event. Subclasses are resolved once (see _route).
_ROUTES: dict[type, _Route | None] = {
    LLMChatStartEvent: _chat_start,
    LLMCompletionStartEvent: _completion_start,
    LLMChatInProgressEvent: _progress,
    LLMCompletionInProgressEvent: _progress,
    LLMChatEndEvent: _end,
    LLMCompletionEndEvent: _end,
    ExceptionEvent: _exception,
    SpanDropEvent: _span_drop,
    EmbeddingStartEvent: _embed_start,
    EmbeddingEndEvent: _embed_end,
}
_BASES = tuple(_ROUTES.items())
_UNSEEN: Any = object()


def _route(cls: type) -> _Route | None:
    # SparseEmbeddingStartEvent subclasses EmbeddingStartEvent, but sparse embeddings are
    # computed locally (no provider call, no price) and end with SparseEmbeddingEndEvent.
    route = None
    if "Sparse" not in cls.__name__:
        for base, fn in _BASES:
            if issubclass(cls, base):
                route = fn
                break
    _ROUTES[cls] = route
    return route


class TokenomyEventHandler(BaseEventHandler):
    """Records every LLM and embedding call LlamaIndex makes, priced, with the run tree.

    Attach it with :func:`tokenomy_llamaindex.instrument` (which also attaches the
    :class:`~tokenomy_llamaindex.TokenomySpanHandler` the run tree and deduplication need),
    or let :func:`tokenomy_llamaindex.track` attach one.

    ``record_outside_track``: record calls made outside every ``track()`` block too (to the
    ``ledger`` given, else the default ledger). True for a handler you create or attach with
    ``instrument()``; the handler ``track()`` attaches on its own records only inside blocks.
    ``ledger``/``price_book``, when given, win over the enclosing ``track()`` block's (else
    the innermost block's, else the process defaults: the rule of
    :func:`tokenomy.store_call`); records always count in every enclosing block. A call whose
    pricing fails (strict mode, a malformed price file) is recorded unpriced with tag
    ``unpriced_reason`` and counted in :attr:`failures`, with one log line.
    """

    # A plain (excluded) field, not a PrivateAttr: read on every event, it must be cheap.
    recorder: CallRecorder = Field(default=None, exclude=True, repr=False)  # type: ignore[assignment]

    def __init__(
        self,
        *,
        record_outside_track: bool = True,
        ledger: Any = None,
        price_book: Any = None,
    ) -> None:
        super().__init__()
        self.recorder = CallRecorder(
            TREE,
            record_outside_track=record_outside_track,
            ledger=ledger,
            price_book=price_book,
        )

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "TokenomyEventHandler"

    @property
    def record_outside_track(self) -> bool:
        """Whether calls made outside every ``track()`` block are recorded."""
        return self.recorder.record_outside_track

    @property
    def failures(self) -> int:
        """Calls this handler could not record, or recorded unpriced because pricing failed."""
        return self.recorder.failures

    @property
    def last_failure(self) -> BaseException | None:
        """The last of those errors."""
        return self.recorder.last_failure

    def would_record(self) -> bool:
        """Whether a call starting now, in this context, will be recorded by this handler."""
        return self.recorder.wants()

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        """Feed one instrumentation event to the recorder (other events are ignored)."""
        cls = event.__class__
        route = _ROUTES.get(cls, _UNSEEN)
        if route is _UNSEEN:
            route = _route(cls)
        if route is None:
            return
        if not TREE.seen_any:
            _warn_no_spans()
        rec = self.recorder
        e: Any = event
        try:
            # The start and end of every call: the routes' work without their extra call.
            if route is _end:
                rec.end(e.span_id, e.response)
            elif route is _completion_start:
                rec.start(e.span_id, "completion", e.model_dict, None, e.prompt)
            elif route is _chat_start:
                tools = e.additional_kwargs.get("tools")
                rec.start(e.span_id, "chat", e.model_dict, e.messages, None, tools)
            else:
                route(rec, event)
        except Exception as exc:  # never raise into LlamaIndex; say what was lost
            rec.note_failure(exc)
            log.exception("tokenomy could not record a LlamaIndex %s", cls.__name__)


#: Warns once per process that events arrive without spans (a test resets it).
NO_SPANS_WARNING = WarnOnce()


def _warn_no_spans() -> None:
    NO_SPANS_WARNING(
        "no-spans",
        "TokenomyEventHandler received an LLM event but no span has been seen: without "
        "TokenomySpanHandler records have no run tree and nested calls (chat on a "
        "completion-only LLM) may be counted twice. Attach both with "
        "tokenomy_llamaindex.instrument(), or add TokenomySpanHandler() to the root "
        "dispatcher with add_span_handler().",
        TokenomyWarning,
        stacklevel=3,
    )
