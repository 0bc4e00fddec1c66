"""tokenomy for LangChain: what every chat-model and LLM call in a chain costs.

* :class:`TokenomyCallbackHandler`: pass it in ``callbacks=``; one priced
  :class:`tokenomy.CostRecord` per model run, with LangChain's run tree and tags.
* :func:`track`: a context manager that attaches the handler to every LangChain call in the
  block, without passing callbacks, and yields a :class:`tokenomy.Tracker` with the totals.
"""

from __future__ import annotations

from tokenomy_langchain._handler import TokenomyCallbackHandler
from tokenomy_langchain._track import current_handler, track

__version__ = "0.1.0"
__all__ = ["TokenomyCallbackHandler", "__version__", "current_handler", "track"]
