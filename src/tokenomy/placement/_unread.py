"""Cache writes never read: the money a breakpoint lost.

Records of placed requests carry tags ``cache_write_keys`` (``key:tokens;...``, the
breakpoints written, with the policy's estimate of each one's share) and ``cache_read_key``
(the breakpoint read). A written key that no record ever read was paid for at the write rate
for nothing more than an uncached prompt would have cost: the loss is its write tokens times
``write rate - input rate``. Computed from two aggregations of the store (by the write tags,
by the read tag), so no record is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy.ledger import LedgerStore, RecordFilter
    from tokenomy.pricing import PriceBook

__all__ = ["UnreadWrites", "unread_cache_writes"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class UnreadWrites:
    """One group's placed cache writes: tokens written, tokens never read, what it lost."""

    key: dict[str, str | None]
    written: int
    unread: int
    lost: Decimal | None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "key": dict(self.key),
            "write_tokens": self.written,
            "unread_write_tokens": self.unread,
            "lost": None if self.lost is None else str(self.lost),
        }


def _split(tag: str) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for item in tag.split(";"):
        key, _, tokens = item.partition(":")
        if key and tokens.isdigit():
            out.append((key, int(tokens)))
    return out


def unread_cache_writes(
    store: LedgerStore,
    by: tuple[str, ...] = ("feature",),
    where: RecordFilter | None = None,
    price_book: PriceBook | None = None,
) -> list[UnreadWrites]:
    """Per group of ``by``: placed cache writes and those never read (module docstring)."""
    from tokenomy.pricing import get_price_book

    book = price_book or get_price_book()
    read_keys = {
        g.key["cache_read_key"]
        for g in store.aggregate(("cache_read_key",), where)
        if g.key.get("cache_read_key")
    }
    groups = store.aggregate((*by, "cache_write_keys", "model", "provider"), where)
    rows: dict[tuple[str | None, ...], list[Any]] = {}
    for g in groups:
        tag = g.key.get("cache_write_keys")
        if not tag:
            continue
        parts = _split(tag)
        u = g.usage
        written = u.cache_write_5m + u.cache_write_1h
        estimate = sum(t for _, t in parts) or 1
        unread = round(written * sum(t for k, t in parts if k not in read_keys) / estimate)
        slot = rows.setdefault(tuple(g.key[n] for n in by), [0, 0, _ZERO])
        slot[0] += written
        slot[1] += unread
        model, provider = g.key.get("model"), g.key.get("provider")
        price = None if model is None else book.lookup(model, provider)
        if price is None or slot[2] is None:
            slot[2] = None
            continue
        base = price.input
        w5 = price.cache_write_5m if price.cache_write_5m is not None else base
        w1 = price.cache_write_1h if price.cache_write_1h is not None else base * 2
        # the unread share of each lifetime's writes, at its premium over the input price
        share = Decimal(unread) / Decimal(written) if written else _ZERO
        slot[2] += share * (u.cache_write_5m * (w5 - base) + u.cache_write_1h * (w1 - base))
    return [
        UnreadWrites(dict(zip(by, k, strict=True)), *v)
        for k, v in sorted(rows.items(), key=lambda kv: -kv[1][1])
    ]
