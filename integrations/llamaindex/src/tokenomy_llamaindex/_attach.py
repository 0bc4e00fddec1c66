"""Attaching the handlers to LlamaIndex's root dispatcher, and ``track()``.

What the globally attached handler does with calls made outside every ``track()`` block:

* attached by :func:`instrument` (or created and attached by you): it records them too,
  to the ``ledger`` given to ``instrument()``, else the default ledger
  (``tokenomy.default_ledger()``, named by ``TOKENOMY_LEDGER``);
* attached only by :func:`track`: it records nothing outside ``track()`` blocks, so using
  ``track()`` somewhere never starts recording the rest of the process.

Calling ``instrument()`` after ``track()`` switches the attached handler to recording
everything; :func:`uninstrument` detaches both handlers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from llama_index_instrumentation import get_dispatcher

from tokenomy_llamaindex._events import TokenomyEventHandler
from tokenomy_llamaindex._spans import TREE, TokenomySpanHandler

if TYPE_CHECKING:
    from tokenomy import Tracker

__all__ = [
    "attached_event_handler",
    "ensure_span_handler",
    "include_stream_usage",
    "instrument",
    "track",
    "uninstrument",
]

_LOCK = threading.Lock()
L = TypeVar("L")


def attached_event_handler() -> TokenomyEventHandler | None:
    """The ``TokenomyEventHandler`` attached to the root dispatcher, if any."""
    for handler in get_dispatcher().event_handlers:
        if isinstance(handler, TokenomyEventHandler):
            return handler
    return None


def _has_span_handler() -> bool:
    return any(isinstance(h, TokenomySpanHandler) for h in get_dispatcher().span_handlers)


def ensure_span_handler() -> None:
    """Attach a :class:`TokenomySpanHandler` to the root dispatcher unless one is there."""
    if _has_span_handler():
        return
    with _LOCK:
        if not _has_span_handler():
            root = get_dispatcher()
            root.span_handlers = [*root.span_handlers, TokenomySpanHandler()]


def _attach(record_outside_track: bool | None) -> TokenomyEventHandler:
    handler = attached_event_handler()
    if handler is not None and record_outside_track is None and _has_span_handler():
        return handler  # the fast path of every track() after the first
    ensure_span_handler()
    with _LOCK:
        handler = attached_event_handler()
        if handler is None:
            handler = TokenomyEventHandler(record_outside_track=bool(record_outside_track))
            root = get_dispatcher()
            root.event_handlers = [*root.event_handlers, handler]
        elif record_outside_track is not None:
            handler.recorder.record_outside_track = record_outside_track
    return handler


def instrument(*, ledger: Any = None, price_book: Any = None) -> TokenomyEventHandler:
    """Record every LLM and embedding call LlamaIndex makes in this process.

    Attaches a :class:`TokenomyEventHandler` and a :class:`TokenomySpanHandler` to the root
    dispatcher (once: calling again returns the same handler), recording calls inside and
    outside ``track()`` blocks. ``ledger``/``price_book`` (when given) store and price the
    records no enclosing ``track()`` block routes elsewhere. Returns the event handler.
    """
    handler = _attach(True)
    with _LOCK:
        if ledger is not None:
            handler.recorder.ledger = ledger
        if price_book is not None:
            handler.recorder.price_book = price_book
    return handler


def uninstrument() -> None:
    """Detach every tokenomy handler from the root dispatcher (calls are no longer recorded)."""
    with _LOCK:
        root = get_dispatcher()
        root.event_handlers = [
            h for h in root.event_handlers if not isinstance(h, TokenomyEventHandler)
        ]
        root.span_handlers = [
            h for h in root.span_handlers if not isinstance(h, TokenomySpanHandler)
        ]
        TREE.clear()  # spans open now will never be seen to exit


@contextmanager
def track(
    *,
    name: str | None = None,
    ledger: Any = None,
    price_book: Any = None,
    **tags: Any,
) -> Iterator[Tracker]:
    """Record the LlamaIndex calls made inside the block, tagged, and total them.

    Makes sure the handlers are attached to the root dispatcher (once, thread-safe), then
    enters ``tokenomy.track(name=..., ledger=..., price_book=..., **tags)``: every record
    made inside gets the tags (plus ``run_name``, the root span's name, e.g.
    ``"RetrieverQueryEngine.query"``, unless a ``run_name`` tag is set), and the yielded
    :class:`tokenomy.Tracker` has the totals (``tracker.cost``, ``.records``, ``.report()``).
    """
    import tokenomy

    _attach(None)
    with tokenomy.track(name=name, ledger=ledger, price_book=price_book, **tags) as tracker:
        yield tracker


def include_stream_usage(llm: L) -> L:
    """Ask an OpenAI-compatible LLM to report usage at the end of its streams; returns it.

    llama-index-llms-openai does not send ``stream_options`` on its own, so OpenAI streams
    report no usage and their records would be estimates. This sets
    ``llm.additional_kwargs["stream_options"] = {"include_usage": True}`` (the LLM drops it
    from non-streaming requests), so streamed calls carry the provider's exact usage,
    cached and reasoning tokens included.
    """
    extra = getattr(llm, "additional_kwargs", None)
    if not isinstance(extra, dict):
        from tokenomy.exceptions import ConfigurationError

        raise ConfigurationError(
            f"{type(llm).__name__} has no additional_kwargs dict: include_stream_usage() "
            "works with OpenAI-compatible LlamaIndex LLMs (llama_index.llms.openai.OpenAI and "
            "its subclasses); configure stream usage reporting on this LLM yourself."
        )
    options = dict(extra.get("stream_options") or {})
    options["include_usage"] = True
    extra["stream_options"] = options
    return llm
