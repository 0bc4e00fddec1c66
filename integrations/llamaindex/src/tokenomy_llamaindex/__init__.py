"""tokenomy for LlamaIndex: what every LLM and embedding call cost, per run, feature, user.

Quick start::

    import tokenomy_llamaindex as tli

    with tli.track(feature="search", user="u42") as t:
        query_engine.query("...")
    print(t.cost, t.report())

``track()`` attaches the handlers on first use and records the calls made inside its block;
``instrument()`` records every call of the process. ``TokenomyCallbackHandler`` does the same
through the legacy ``CallbackManager``. See the module docs of each for the details.
"""

from tokenomy_llamaindex._attach import include_stream_usage, instrument, track, uninstrument
from tokenomy_llamaindex._callbacks import TokenomyCallbackHandler
from tokenomy_llamaindex._events import TokenomyEventHandler
from tokenomy_llamaindex._spans import TokenomySpanHandler

__version__ = "0.1.0"
__all__ = [
    "TokenomyCallbackHandler",
    "TokenomyEventHandler",
    "TokenomySpanHandler",
    "__version__",
    "include_stream_usage",
    "instrument",
    "track",
    "uninstrument",
]
