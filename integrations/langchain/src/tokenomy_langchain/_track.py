"""``tokenomy_langchain.track()``: cost-track every LangChain call in a block, no callbacks passed.

Works the way ``langchain_core.callbacks.get_usage_metadata_callback`` does: a
:class:`~contextvars.ContextVar` registered with ``register_configure_hook(var,
inheritable=True)``, which LangChain reads whenever it configures callbacks for a run, so the
handler it holds is attached to every run started in the block (and inherited by their child
runs, asyncio tasks and LangChain's thread pools, which copy the context). Plain
``threading.Thread``\\ s do not copy it: wrap their target in ``tokenomy.run_in_context``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from langchain_core.tracers.context import register_configure_hook

import tokenomy
from tokenomy_langchain._handler import TokenomyCallbackHandler

if TYPE_CHECKING:
    from tokenomy import LedgerStore, PriceBook, Tracker

__all__ = ["current_handler", "track"]

_handler_var: ContextVar[TokenomyCallbackHandler | None] = ContextVar(
    "tokenomy_langchain_handler", default=None
)
register_configure_hook(_handler_var, inheritable=True)


@contextmanager
def track(
    *,
    name: str | None = None,
    ledger: LedgerStore | None = None,
    price_book: PriceBook | None = None,
    **tags: Any,
) -> Iterator[Tracker]:
    """Record every LangChain model call made inside the block, tagged with ``tags``.

    Enters :func:`tokenomy.track` with the same arguments (so records get ``tags``, go to
    ``ledger`` and are priced with ``price_book``) and attaches a
    :class:`TokenomyCallbackHandler` to every LangChain run started inside. Yields the
    :class:`tokenomy.Tracker`: ``tracker.cost``, ``.records``, ``.report()``.

    Nestable (the innermost block's handler is attached; records count in every enclosing
    tracker). A handler also passed explicitly in ``callbacks`` records the call instead of
    the attached one, never both. ``track()`` tags win over LangChain ``metadata`` keys of
    the same name (see :class:`TokenomyCallbackHandler`).
    """
    with tokenomy.track(name=name, ledger=ledger, price_book=price_book, **tags) as tracker:
        token = _handler_var.set(TokenomyCallbackHandler(_attached=True))
        try:
            yield tracker
        finally:
            _handler_var.reset(token)


def current_handler() -> TokenomyCallbackHandler | None:
    """The handler the innermost active :func:`track` block attaches (its ``failures``...)."""
    return _handler_var.get()
