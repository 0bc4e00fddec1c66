"""Pricing a call whose usage includes sampling steps on other models (``UsageExtra.steps``).

Anthropic's advisor tool runs a sub-inference on a stronger model inside one Messages call
(``claude-opus-4-8`` advising ``claude-sonnet-5``), and a server-side fallback may serve a
call on another model; ``usage.iterations`` names the model of each such step. The call's
``Usage`` counts every step's tokens (that is what was billed), so its cost is the executor's
share (the usage minus the named steps) at the executor's rates plus each step at its own
model's rates, added dimension by dimension. A step whose model the book does not know is
priced at the executor's rates (what every step cost before) and named in the result, so the
record can say so.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokenomy.usage._model import Usage

if TYPE_CHECKING:
    from tokenomy.pricing._book import PriceBook
    from tokenomy.pricing._model import ModelPrice

__all__ = ["price_with_steps", "without_steps"]


def without_steps(usage: Usage) -> Usage:
    """The executor's share of ``usage``: its counts minus those of ``extra.steps`` (never
    below zero), keeping the rest of ``extra`` (audio, searches, the bill, the note)."""
    extra = usage.extra
    if extra is None or not extra.steps:
        return usage
    inp, out, read, w5, w1, reas = (
        usage.input,
        usage.output,
        usage.cache_read,
        usage.cache_write_5m,
        usage.cache_write_1h,
        usage.reasoning,
    )
    for _, step in extra.steps:
        inp -= step.input
        out -= step.output
        read -= step.cache_read
        w5 -= step.cache_write_5m
        w1 -= step.cache_write_1h
        reas -= step.reasoning
    read, w5, w1 = max(read, 0), max(w5, 0), max(w1, 0)
    inp = max(inp, read + w5 + w1)
    out = max(out, 0)
    reas = min(max(reas, 0), out)
    rest = replace(extra, steps=())
    return Usage(inp, out, read, w5, w1, reas, usage.estimated, None if rest.is_empty() else rest)


def _parts(costing: tuple[Any, ...]) -> dict[str, Decimal]:
    flat = costing[1]
    if flat is None:
        return {"input": costing[5], "output": costing[6]}
    return dict(zip(flat[::2], flat[1::2], strict=True))


def price_with_steps(
    book: PriceBook,
    entry: tuple[str, ModelPrice],
    usage: Usage,
    *,
    provider: str | None = None,
    service_tier: str | None = None,
) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """``(costing, step models with no known price)`` of ``usage`` on ``entry``'s model.

    ``costing`` has the shape :meth:`ModelPrice.priced` returns (always with parts), the
    executor's key, tier and context threshold.
    """
    key, price = entry
    assert usage.extra is not None
    own = price.priced(without_steps(usage), key, service_tier)
    parts = _parts(own)
    unknown: list[str] = []
    for model, step in usage.extra.steps:
        found = book._priced_entry(model, provider)
        if found is None:
            unknown.append(model)
            costing = price.priced(step, key, service_tier)
        else:
            costing = found[1].priced(step, found[0], service_tier)
        for name, value in _parts(costing).items():
            parts[name] = parts.get(name, Decimal(0)) + value
    total = sum(parts.values(), Decimal(0))
    flat = tuple(item for kv in parts.items() for item in kv)
    return (total, flat, key, own[3], own[4], None, None), tuple(unknown)
