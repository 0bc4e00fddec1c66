"""``TokenomyCallbackHandler``: the same recording through the legacy ``CallbackManager``.

For code that wires handlers with ``Settings.callback_manager = CallbackManager([...])`` or
``llm.callback_manager``. LlamaIndex sends ``CBEventType.LLM`` start/end (the end carrying
the ``ChatResponse``/``CompletionResponse``, or for a stream the last piece) and
``CBEventType.EMBEDDING`` start/end (the texts embedded) to it.

Differences from :class:`~tokenomy_llamaindex.TokenomyEventHandler`, which sees more:

* no time to first token (the legacy callbacks see no streamed pieces), and a stream that
  fails midway is not recorded (its pieces are unknown);
* run ids are still the LlamaIndex span ids (read from the active span when the call
  starts), so both handlers build the same run tree, and nested calls are deduplicated the
  same way (this handler attaches the span handler to the root dispatcher).

**Never both.** LlamaIndex sends every call through both systems. When a
``TokenomyEventHandler`` attached to the root dispatcher will record a call (it was attached
with ``instrument()``, or the call is inside a ``track()`` block), this handler leaves the
call to it. A callback handler must never raise into the LLM call it observes: errors while
recording are logged on the ``tokenomy_llamaindex`` logger.
"""

from __future__ import annotations

import threading
from typing import Any

from llama_index.core.callbacks.base_handler import BaseCallbackHandler
from llama_index.core.callbacks.schema import CBEventType, EventPayload
from llama_index.core.instrumentation.span import active_span_id

from tokenomy_llamaindex._attach import attached_event_handler, ensure_span_handler
from tokenomy_llamaindex._calls import CallRecorder, evict_oldest, log
from tokenomy_llamaindex._spans import TREE

__all__ = ["TokenomyCallbackHandler"]

_MAX_PENDING = 10_000
_LLM = CBEventType.LLM
_EMBEDDING = CBEventType.EMBEDDING


class TokenomyCallbackHandler(BaseCallbackHandler):
    """Records LLM and embedding calls seen through a ``CallbackManager``.

    ``record_outside_track``, ``ledger`` and ``price_book`` mean what they mean for
    :class:`~tokenomy_llamaindex.TokenomyEventHandler`.
    """

    def __init__(
        self,
        *,
        record_outside_track: bool = True,
        ledger: Any = None,
        price_book: Any = None,
    ) -> None:
        super().__init__(event_starts_to_ignore=[], event_ends_to_ignore=[])
        ensure_span_handler()
        self.recorder = CallRecorder(
            TREE,
            record_outside_track=record_outside_track,
            ledger=ledger,
            price_book=price_book,
        )
        # event id -> span id of the call (ends may arrive where another span is active)
        self._spans: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def on_event_start(
        self,
        event_type: CBEventType,
        payload: dict[str, Any] | None = None,
        event_id: str = "",
        parent_id: str = "",
        **kwargs: Any,
    ) -> str:
        """Note an LLM or embedding call beginning."""
        if event_type is not _LLM and event_type is not _EMBEDDING:
            return event_id
        try:
            events = attached_event_handler()
            if events is not None and events.would_record():
                return event_id
            payload = payload or {}
            span_id = active_span_id.get()
            model_dict = payload.get(EventPayload.SERIALIZED)
            if event_type is _EMBEDDING:
                self.recorder.embed_start(span_id, model_dict)
            elif EventPayload.MESSAGES in payload:
                extra = payload.get(EventPayload.ADDITIONAL_KWARGS) or {}
                self.recorder.start(
                    span_id,
                    "chat",
                    model_dict,
                    messages=payload[EventPayload.MESSAGES],
                    tools=extra.get("tools"),
                )
            else:
                prompt = payload.get(EventPayload.PROMPT)
                self.recorder.start(
                    span_id,
                    "completion",
                    model_dict,
                    prompt=None if prompt is None else str(prompt),
                )
            self._spans[event_id] = span_id
            if len(self._spans) > _MAX_PENDING:  # streams never read never end
                with self._lock:
                    evict_oldest(self._spans, _MAX_PENDING)
        except Exception:
            log.exception("tokenomy could not note the start of a LlamaIndex %s call", event_type)
        return event_id

    def on_event_end(
        self,
        event_type: CBEventType,
        payload: dict[str, Any] | None = None,
        event_id: str = "",
        **kwargs: Any,
    ) -> None:
        """Record the call that ``event_id`` started."""
        if event_type is not _LLM and event_type is not _EMBEDDING:
            return
        if event_id not in self._spans:
            return
        span_id = self._spans.pop(event_id)
        try:
            payload = payload or {}
            if EventPayload.EXCEPTION in payload:
                self.recorder.fail(span_id, payload[EventPayload.EXCEPTION])
            elif event_type is _EMBEDDING:
                self.recorder.embed_end(span_id, payload.get(EventPayload.CHUNKS) or [])
            else:
                response = payload.get(EventPayload.RESPONSE, payload.get(EventPayload.COMPLETION))
                self.recorder.end(span_id, response)
        except Exception:
            log.exception("tokenomy could not record a LlamaIndex %s call", event_type)

    def start_trace(self, trace_id: str | None = None) -> None:
        """Traces are not used: runs come from LlamaIndex spans."""

    def end_trace(
        self,
        trace_id: str | None = None,
        trace_map: dict[str, list[str]] | None = None,
    ) -> None:
        """Traces are not used: runs come from LlamaIndex spans."""
