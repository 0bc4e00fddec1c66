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


def estimate_call(prompt: Any, output: str, *, model: str | None, provider: str | None,
                  tools: Any = None) -> Any:
    from tokenomy.tokens import count_text, estimate_messages
    from tokenomy.usage import Usage

    name = model or "gpt-4o"
    try:
        if isinstance(prompt, str):
            n = count_text(prompt, name)
        else:
            n = estimate_messages(list(prompt or ()), name, tools=tools).prompt_tokens
    except Exception:
        n = 0
    return Usage(input=n, output=count_text(output, name) if output else 0, estimated=True)


def tags_of(m: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in m.items() if v is not None}
