"""TEMPORARY: the core names the pipeline builds on, until branches `record` and `shared` land
(``tokenomy.store_call``, ``current_trackers``, ``PriceBook.check``, ``tokens.estimate_call``).
Deleted at that merge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def current_trackers() -> tuple[Any, ...]:
    from tokenomy._tracking import _active

    return _active.get()


def store_call(*, usage: Any = None, trackers: Any = None, truncated: bool = False, **kw: Any) -> Any:
    from tokenomy._tracking import _record_stored

    return _record_stored(counts=None if usage is None else usage.as_tuple(), chain=trackers, **kw)


def check(book: Any, model: str, provider: str | None) -> None:
    if book._priced_entry(model, provider) is None:
        book._unknown(model, provider)


def tags_of(m: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in m.items() if v is not None}
