"""Provider prompt caching as its own figure, apart from response caches.

A provider's prompt cache (Anthropic ``cache_control``, OpenAI automatic caching, Gemini
context caching) bills some input tokens at other rates: a cache read costs less than an
uncached token, a cache write (5 minutes or 1 hour) more. :func:`prompt_cache` sums, per group
(feature and model by default), the input, cache-read and cache-write tokens of the calls that
reached the provider (response-cache hits are left out: they are the response cache's figure),
the token hit rate (cache reads over input tokens) and what the caching saved against the
uncached price of the same tokens at the model's standard rates in the price book:
``reads x (input - cache read rate) - writes x (write rate - input)``. A write never read
makes it negative. ``saved`` is ``None`` for a group holding a model without a price.

The token sums come from the store's aggregation (SQL on the SQL stores), grouped by model and
provider as well, so each model's rates apply to its own tokens exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.ledger._aggregate import decimal_text

if TYPE_CHECKING:
    from tokenomy.ledger import GroupTotals
    from tokenomy.pricing import PriceBook
    from tokenomy.report._report import Report

__all__ = ["PromptCache", "prompt_cache", "total_of"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PromptCache:
    """One group's provider prompt caching: tokens, hit rate and what it saved."""

    key: dict[str, str | None]
    calls: int
    input: int
    cache_read: int
    cache_write: int
    saved: Decimal | None

    @property
    def hit_rate(self) -> float | None:
        """Share of the input tokens read from the provider's cache (``None``: no input)."""
        return self.cache_read / self.input if self.input else None

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``saved`` as a decimal string, ``null`` when unknown)."""
        return {
            "key": dict(self.key),
            "calls": self.calls,
            "input_tokens": self.input,
            "cache_read_tokens": self.cache_read,
            "cache_write_tokens": self.cache_write,
            "hit_rate": self.hit_rate,
            "saved": None if self.saved is None else decimal_text(self.saved),
        }


def _saving(
    book: PriceBook, model: str | None, provider: str | None, g: GroupTotals
) -> Decimal | None:
    u = g.usage
    if not (u.cache_read or u.cache_write_5m or u.cache_write_1h):
        return _ZERO
    price = None if model is None else book.lookup(model, provider)
    if price is None:
        return None
    base = price.input
    read = price.cache_read if price.cache_read is not None else base
    w5 = price.cache_write_5m if price.cache_write_5m is not None else base
    w1 = price.cache_write_1h if price.cache_write_1h is not None else base
    return u.cache_read * (base - read) - u.cache_write_5m * (w5 - base) - u.cache_write_1h * (
        w1 - base
    )


def prompt_cache(
    report: Report, by: Sequence[str] = ("feature", "model"), book: PriceBook | None = None
) -> list[PromptCache]:
    """Per group of ``by``, the provider prompt caching of the report's calls (see the module
    docstring); ``by=()`` gives one total group."""
    from tokenomy.pricing import get_price_book

    book = book or get_price_book()
    names = tuple(by)
    extra = tuple(n for n in ("model", "provider") if n not in names)
    where = report._narrowed(cache_hit=False)
    groups = [] if where is None else report._store.aggregate((*names, *extra), where)
    merged: dict[tuple[str | None, ...], list[Any]] = {}
    for g in groups:
        key = tuple(g.key[n] for n in names)
        slot = merged.setdefault(key, [0, 0, 0, 0, _ZERO])
        u = g.usage
        slot[0] += g.count
        slot[1] += u.input
        slot[2] += u.cache_read
        slot[3] += u.cache_write_5m + u.cache_write_1h
        saving = _saving(book, g.key["model"], g.key["provider"], g)
        slot[4] = None if saving is None or slot[4] is None else slot[4] + saving
    return [
        PromptCache(dict(zip(names, k, strict=True)), *v)
        for k, v in sorted(merged.items(), key=lambda kv: -kv[1][2])
    ]


def total_of(groups: Sequence[PromptCache]) -> PromptCache:
    """The groups added up (``saved`` unknown when any group's is)."""
    saved: Decimal | None = _ZERO
    for g in groups:
        saved = None if saved is None or g.saved is None else saved + g.saved
    return PromptCache(
        key={},
        calls=sum(g.calls for g in groups),
        input=sum(g.input for g in groups),
        cache_read=sum(g.cache_read for g in groups),
        cache_write=sum(g.cache_write for g in groups),
        saved=saved,
    )
