"""Prices of one model (:class:`ModelPrice`) and the priced result of one call (:class:`Cost`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Context, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenomy.usage._model import Usage

__all__ = ["COST_DIMENSIONS", "ContextTier", "Cost", "ModelPrice"]

#: Every dimension a :class:`Cost` can break down into, in display order.
COST_DIMENSIONS: tuple[str, ...] = (
    "input",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "output",
    "reasoning",
    "audio_input",
    "audio_output",
    "request",
    "web_search",
    "image_generation",
)

_ZERO = Decimal(0)
_RATE_FIELDS = (
    "input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning", "request",
    "audio_input", "audio_output", "web_search",
)
_TWO = Decimal(2)
#: The arithmetic context of pricing: the decimal module's default precision (28 digits, far
#: more than any price times any token count needs), fixed so costs do not depend on the
#: caller's ``decimal.getcontext()``. Passing it explicitly also skips the context lookup of
#: ``Decimal * int``, which costs about 1 µs inside every LangChain run (each run executes
#: in a fresh copy of the contextvars context, where the decimal module makes a new context).
_MONEY = Context(prec=28)
_mul = _MONEY.multiply
_add = _MONEY.add


@dataclass(frozen=True, slots=True)
class ContextTier:
    """Rates that apply when a call's prompt has more than ``above`` tokens (long context)."""

    above: int
    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per token for each dimension of one model (all :class:`~decimal.Decimal`).

    ``None`` for a cache or reasoning rate means "billed like the base rate": cache reads and
    5-minute cache writes at ``input``, 1-hour cache writes at twice ``input`` (Anthropic's
    published multiplier, the only provider with 1-hour writes), reasoning at ``output``.
    ``service_tiers`` holds full alternative price sets (``"batch"``, ``"priority"``,
    ``"flex"``); ``context_tiers`` the long-context rates, lowest threshold first.
    ``audio_input`` / ``audio_output`` are USD per audio token (``None``: billed like text);
    ``web_search`` is USD per built-in web-search call (``None``: no rate known, the searches
    are not priced).
    """

    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    reasoning: Decimal | None = None
    request: Decimal = _ZERO
    context_tiers: tuple[ContextTier, ...] = ()
    audio_input: Decimal | None = None
    audio_output: Decimal | None = None
    web_search: Decimal | None = None
    service_tiers: Mapping[str, ModelPrice] = field(default_factory=dict)
    mode: str = "chat"
    provider: str | None = None
    source: str = "override"

    def __post_init__(self) -> None:
        # Rates given as str/int/float become exact Decimals here, not a TypeError at pricing.
        for name in _RATE_FIELDS:
            value = getattr(self, name)
            if value is None and name not in ("input", "output", "request"):
                continue
            if isinstance(value, Decimal):
                continue
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise TypeError(
                    f"ModelPrice.{name} must be a Decimal, str, int or float (USD per token), "
                    f"got {value!r}; use ModelPrice.per_million(...) for per-million prices"
                )
            object.__setattr__(self, name, to_decimal(value))

    @classmethod
    def per_million(
        cls,
        *,
        input: Decimal | str | float,
        output: Decimal | str | float = 0,
        cache_read: Decimal | str | float | None = None,
        cache_write_5m: Decimal | str | float | None = None,
        cache_write_1h: Decimal | str | float | None = None,
        reasoning: Decimal | str | float | None = None,
        request: Decimal | str | float = 0,
        audio_input: Decimal | str | float | None = None,
        audio_output: Decimal | str | float | None = None,
        web_search: Decimal | str | float | None = None,
        mode: str = "chat",
        provider: str | None = None,
    ) -> ModelPrice:
        """Build from USD per million tokens (how providers publish prices); ``request`` and
        ``web_search`` are USD per request / per search call."""

        def conv(v: Decimal | str | float | None) -> Decimal | None:
            if v is None:
                return None
            return to_decimal(v) / 1_000_000

        return cls(
            input=conv(input) or _ZERO,
            output=conv(output) or _ZERO,
            cache_read=conv(cache_read),
            cache_write_5m=conv(cache_write_5m),
            cache_write_1h=conv(cache_write_1h),
            reasoning=conv(reasoning),
            request=to_decimal(request),
            audio_input=conv(audio_input),
            audio_output=conv(audio_output),
            web_search=None if web_search is None else to_decimal(web_search),
            mode=mode,
            provider=provider,
        )

    def for_service_tier(self, tier: str | None) -> ModelPrice:
        """The price set of a service tier (``batch``, ``priority``, ``flex``); itself if none."""
        if tier is None or tier in ("default", "standard", "auto", "on_demand"):
            return self
        return self.service_tiers.get(tier, self)

    def cost(self, usage: Usage, *, model: str = "", service_tier: str | None = None) -> Cost:
        """Price ``usage``: the cost of each dimension and their sum, exactly, in USD."""
        total, pairs, model, applied, above, p_in, p_out = self.priced(usage, model, service_tier)
        parts: dict[str, Decimal] = (
            dict(zip(pairs[::2], pairs[1::2], strict=True))  # type: ignore[arg-type]
            if pairs is not None
            else {"input": p_in, "output": p_out}  # type: ignore[dict-item]
        )
        return Cost(
            total=total,
            parts=parts,
            model=model,
            service_tier=applied,
            context_above=above,
        )

    def priced(
        self, usage: Usage, model: str = "", service_tier: str | None = None
    ) -> tuple[
        Decimal,
        tuple[str | Decimal, ...] | None,
        str,
        str | None,
        int | None,
        Decimal | None,
        Decimal | None,
    ]:
        """:meth:`cost` as plain values, for the recording hot path.

        Returns ``(total, parts, model, service tier applied, context threshold
        crossed, input part, output part)``, the fields of the :class:`Cost` :meth:`cost`
        returns: parts as a flat ``(dimension, USD, dimension, USD...)`` tuple, or ``None``
        for the usual call billed on input and output only, whose two parts are then the
        last two items (no tuple to allocate and keep).
        """
        price = self if service_tier is None else self.for_service_tier(service_tier)
        applied_tier = service_tier if price is not self else None
        if not (
            usage.cache_read
            or usage.cache_write_5m
            or usage.cache_write_1h
            or usage.reasoning
            or price.request
            or price.context_tiers
            or usage.extra is not None
        ):  # the usual call: plain input and output only
            p_in = _mul(price.input, usage.input)
            p_out = _mul(price.output, usage.output)
            return _add(p_in, p_out), None, model, applied_tier, None, p_in, p_out
        return price._priced_parts(usage, model, applied_tier)

    def _priced_parts(
        self, usage: Usage, model: str, applied_tier: str | None
    ) -> tuple[Decimal, tuple[str | Decimal, ...], str, str | None, int | None, None, None]:
        """:meth:`priced` of a call with cache, reasoning, a request fee, a context tier or
        :class:`~tokenomy.usage.UsageExtra` (audio tokens, web searches)."""
        n_in, n_out, n_read = usage.input, usage.output, usage.cache_read
        n_w5, n_w1, n_reas = usage.cache_write_5m, usage.cache_write_1h, usage.reasoning
        inp, out = self.input, self.output
        c_read, c_w5, c_w1, reas = (
            self.cache_read,
            self.cache_write_5m,
            self.cache_write_1h,
            self.reasoning,
        )
        above: int | None = None
        for tier in self.context_tiers:
            if n_in > tier.above:
                above = tier.above
                inp, out = tier.input, tier.output
                c_read = tier.cache_read if tier.cache_read is not None else c_read
                c_w5 = tier.cache_write_5m if tier.cache_write_5m is not None else c_w5
                c_w1 = tier.cache_write_1h if tier.cache_write_1h is not None else c_w1
        extra = usage.extra
        n_ain = n_aout = n_search = 0
        if extra is not None:
            uncached = n_in - n_read - n_w5 - n_w1
            n_ain = min(extra.audio_input, uncached)
            n_aout = min(extra.audio_output, n_out - n_reas)
            n_search = extra.web_searches
        parts: dict[str, Decimal] = {"input": _mul(inp, n_in - n_read - n_w5 - n_w1 - n_ain)}
        if n_read:
            parts["cache_read"] = _mul(inp if c_read is None else c_read, n_read)
        if n_w5:
            parts["cache_write_5m"] = _mul(inp if c_w5 is None else c_w5, n_w5)
        if n_w1:
            parts["cache_write_1h"] = _mul(_mul(inp, _TWO) if c_w1 is None else c_w1, n_w1)
        parts["output"] = _mul(out, n_out - n_reas - n_aout)
        if n_reas:
            parts["reasoning"] = _mul(out if reas is None else reas, n_reas)
        if n_ain:
            a_in = self.audio_input
            parts["audio_input"] = _mul(inp if a_in is None else a_in, n_ain)
        if n_aout:
            a_out = self.audio_output
            parts["audio_output"] = _mul(out if a_out is None else a_out, n_aout)
        if self.request:
            parts["request"] = self.request
        if n_search and self.web_search is not None:
            parts["web_search"] = _mul(self.web_search, n_search)
        total = _ZERO
        for value in parts.values():
            total = _add(total, value)
        flat = tuple([x for kv in parts.items() for x in kv])
        return total, flat, model, applied_tier, above, None, None

    def with_source(self, source: str) -> ModelPrice:
        """A copy whose ``source`` says where the price came from."""
        return replace(self, source=source)


@dataclass(frozen=True, slots=True)
class Cost:
    """What one call cost: ``total`` USD and its ``parts`` by dimension (see COST_DIMENSIONS).

    ``model`` is the price-book entry used, ``service_tier`` the tier applied (``None`` for the
    standard rates), ``context_above`` the long-context threshold crossed, if any.
    """

    total: Decimal
    parts: Mapping[str, Decimal]
    model: str = field(default="", compare=False)
    service_tier: str | None = field(default=None, compare=False)
    context_above: int | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, str]:
        """``{"total": ..., <dimension>: ...}`` with Decimals as strings (the export shape)."""
        out = {"total": str(self.total)}
        for k, v in self.parts.items():
            out[k] = str(v)
        return out

    def __add__(self, other: object) -> Cost:
        if not isinstance(other, Cost):
            return NotImplemented
        parts = dict(self.parts)
        for k, v in other.parts.items():
            parts[k] = parts.get(k, _ZERO) + v
        return Cost(total=self.total + other.total, parts=parts)


def to_decimal(value: Decimal | str | float | int) -> Decimal:
    """Exact Decimal of a price; floats go through ``repr`` so 2.5e-06 is Decimal('0.0000025')."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)
