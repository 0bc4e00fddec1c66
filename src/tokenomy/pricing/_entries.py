"""Turn one litellm price entry into a :class:`ModelPrice` (every dimension and tier)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tokenomy.pricing._model import ContextTier, ModelPrice, to_decimal

__all__ = ["SERVICE_TIERS", "entry_to_price"]

#: litellm key suffix → the service tier name tokenomy (and OpenAI's ``service_tier``) uses.
SERVICE_TIERS: dict[str, str] = {"batches": "batch", "priority": "priority", "flex": "flex"}
_ABOVE = re.compile(r"^input_cost_per_token_above_(\d+)k_tokens$")


def _dec(entry: Mapping[str, Any], key: str) -> Decimal | None:
    value = entry.get(key)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    return to_decimal(value)


def _context_tiers(entry: Mapping[str, Any], suffix: str) -> tuple[ContextTier, ...]:
    tiers: list[ContextTier] = []
    for key in entry:
        m = _ABOVE.match(key.removesuffix(suffix) if suffix else key)
        if not m or (suffix and not key.endswith(suffix)):
            continue
        n = m.group(1)
        above = f"_above_{n}k_tokens"
        inp = _dec(entry, f"input_cost_per_token{above}{suffix}")
        if inp is None:
            continue
        out = _dec(entry, f"output_cost_per_token{above}{suffix}")
        tiers.append(
            ContextTier(
                above=int(n) * 1000,
                input=inp,
                output=out if out is not None else _dec(entry, f"output_cost_per_token{suffix}")
                or Decimal(0),
                cache_read=_dec(entry, f"cache_read_input_token_cost{above}{suffix}"),
                cache_write_5m=_dec(entry, f"cache_creation_input_token_cost{above}{suffix}"),
                cache_write_1h=_dec(entry, f"cache_creation_input_token_cost_above_1hr{above}"),
            )
        )
    return tuple(sorted(tiers, key=lambda t: t.above))


def _tiered_pricing(entry: Mapping[str, Any]) -> tuple[Decimal, Decimal, tuple[ContextTier, ...]] | None:
    """litellm's ``tiered_pricing`` list: [{input/output_cost_per_token, range: [lo, hi]}...]."""
    raw = entry.get("tiered_pricing")
    if not isinstance(raw, list) or not raw:
        return None
    rows = sorted(
        (r for r in raw if isinstance(r, dict) and "range" in r), key=lambda r: float(r["range"][0])
    )
    if not rows:
        return None
    base_in = _dec(rows[0], "input_cost_per_token") or Decimal(0)
    base_out = _dec(rows[0], "output_cost_per_token") or Decimal(0)
    tiers = tuple(
        ContextTier(
            above=int(float(r["range"][0])),
            input=_dec(r, "input_cost_per_token") or base_in,
            output=_dec(r, "output_cost_per_token") or base_out,
            cache_read=_dec(r, "cache_read_input_token_cost"),
        )
        for r in rows[1:]
    )
    return base_in, base_out, tiers


def _search_rate(entry: Mapping[str, Any]) -> Decimal | None:
    """USD per built-in web-search call: litellm's ``search_context_cost_per_query`` at the
    medium context size (what litellm bills when the request names no size)."""
    table = entry.get("search_context_cost_per_query")
    if not isinstance(table, Mapping):
        return None
    rate = _dec(table, "search_context_size_medium")
    return rate if rate else None


def _price_set(entry: Mapping[str, Any], suffix: str, source: str) -> ModelPrice | None:
    inp = _dec(entry, f"input_cost_per_token{suffix}")
    out = _dec(entry, f"output_cost_per_token{suffix}")
    tiers = _context_tiers(entry, suffix)
    if not suffix:
        tiered = _tiered_pricing(entry)
        if tiered is not None:
            inp = inp if inp is not None else tiered[0]
            out = out if out is not None else tiered[1]
            tiers = tiers or tiered[2]
    if inp is None and out is None:
        return None
    cache_read = _dec(entry, f"cache_read_input_token_cost{suffix}")
    if cache_read is None and not suffix:
        cache_read = _dec(entry, "input_cost_per_token_cache_hit")
    return ModelPrice(
        input=inp if inp is not None else Decimal(0),
        output=out if out is not None else Decimal(0),
        cache_read=cache_read,
        cache_write_5m=_dec(entry, f"cache_creation_input_token_cost{suffix}"),
        cache_write_1h=_dec(entry, "cache_creation_input_token_cost_above_1hr")
        if not suffix
        else None,
        reasoning=_dec(entry, f"output_cost_per_reasoning_token{suffix}")
        if suffix
        else _dec(entry, "output_cost_per_reasoning_token"),
        request=_dec(entry, "input_cost_per_request") or Decimal(0),
        context_tiers=tiers,
        audio_input=_dec(entry, f"input_cost_per_audio_token{suffix}"),
        audio_output=_dec(entry, f"output_cost_per_audio_token{suffix}"),
        web_search=_search_rate(entry),
        mode=str(entry.get("mode") or "chat"),
        provider=entry.get("litellm_provider"),
        source=source,
    )


def entry_to_price(entry: Mapping[str, Any], source: str) -> ModelPrice | None:
    """The full price of one litellm entry, or ``None`` if it has no token prices."""
    base = _price_set(entry, "", source)
    if base is None:
        return None
    tiers: dict[str, ModelPrice] = {}
    for suffix, name in SERVICE_TIERS.items():
        alt = _price_set(entry, f"_{suffix}", source)
        if alt is None:
            continue
        # A tier price set inherits what it does not say from the standard rates scaled the
        # same way as its input rate (batch is a flat discount on every dimension).
        ratio = alt.input / base.input if base.input else Decimal(1)

        def scaled(v: Decimal | None, ratio: Decimal = ratio) -> Decimal | None:
            return None if v is None else v * ratio

        tiers[name] = ModelPrice(
            input=alt.input,
            output=alt.output if alt.output else base.output * ratio,
            cache_read=alt.cache_read if alt.cache_read is not None else scaled(base.cache_read),
            cache_write_5m=alt.cache_write_5m
            if alt.cache_write_5m is not None
            else scaled(base.cache_write_5m),
            cache_write_1h=scaled(base.cache_write_1h),
            reasoning=alt.reasoning if alt.reasoning is not None else scaled(base.reasoning),
            request=base.request,
            context_tiers=alt.context_tiers,
            audio_input=alt.audio_input
            if alt.audio_input is not None
            else scaled(base.audio_input),
            audio_output=alt.audio_output
            if alt.audio_output is not None
            else scaled(base.audio_output),
            web_search=base.web_search,
            mode=base.mode,
            provider=base.provider,
            source=source,
        )
    if tiers:
        return ModelPrice(
            input=base.input,
            output=base.output,
            cache_read=base.cache_read,
            cache_write_5m=base.cache_write_5m,
            cache_write_1h=base.cache_write_1h,
            reasoning=base.reasoning,
            request=base.request,
            context_tiers=base.context_tiers,
            audio_input=base.audio_input,
            audio_output=base.audio_output,
            web_search=base.web_search,
            service_tiers=tiers,
            mode=base.mode,
            provider=base.provider,
            source=source,
        )
    return base
