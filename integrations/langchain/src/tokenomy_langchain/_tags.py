"""LangChain ``metadata`` and ``tags`` → tokenomy record tags.

* Metadata keys with a scalar value (str, int, float, bool) become tags of the same name,
  except LangChain's, LangSmith's and LangGraph's own bookkeeping: keys starting with
  ``ls_``, ``langgraph_``, ``checkpoint_``, ``lc_`` or ``_``.
* User run tags become one tag, ``lc_tags``, joined with ``","`` in first-seen order,
  without LangChain's internal positional tags (``seq:step:2``, ``map:key:x``,
  ``graph:step:3``, ``langsmith:hidden``...).

Precedence (documented in :class:`~tokenomy_langchain.TokenomyCallbackHandler`): tokenomy's
own tags (the handler's ``tags=`` over the enclosing ``track()`` blocks') win over these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ATTEMPT_METADATA",
    "INTERNAL_METADATA_PREFIXES",
    "INTERNAL_TAG_PREFIXES",
    "langchain_tags",
]

#: Run metadata carrying the attempt of an enclosing ``with_resilience`` chain (an internal
#: key: never a tag); the callback handler records it as the model call's ``attempt``.
ATTEMPT_METADATA = "_tokenomy_attempt"

#: Metadata keys with these prefixes are framework internals, never tags.
INTERNAL_METADATA_PREFIXES: tuple[str, ...] = ("ls_", "langgraph_", "checkpoint_", "lc_", "_")
#: Run tags with these prefixes are LangChain's positional bookkeeping, not the user's.
INTERNAL_TAG_PREFIXES: tuple[str, ...] = (
    "seq:step:",
    "map:key:",
    "graph:step:",
    "langsmith:",
    "branch:",
    "condition:",
)
_SCALARS = (str, int, float, bool)


def langchain_tags(
    metadata: Mapping[str, Any] | None, tags: Iterable[str] | None
) -> dict[str, str]:
    """The record tags a LangChain run's ``metadata`` and ``tags`` contribute."""
    out: dict[str, str] = {}
    if metadata:
        for key, value in metadata.items():
            if (
                isinstance(key, str)
                and isinstance(value, _SCALARS)
                and not key.startswith(INTERNAL_METADATA_PREFIXES)
            ):
                out[key] = str(value)
    if tags:
        kept = [t for t in dict.fromkeys(tags) if not t.startswith(INTERNAL_TAG_PREFIXES)]
        if kept:
            out["lc_tags"] = ",".join(kept)
    return out
