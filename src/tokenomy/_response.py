""":func:`cost_of_response`: what one raw provider response cost, to the cent and beyond."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import UnknownModelPriceWarning

if TYPE_CHECKING:
    from tokenomy.pricing import Cost, PriceBook
    from tokenomy.usage import ParsedResponse, Usage

__all__ = ["ResponseCost", "cost_of_response"]


@dataclass(frozen=True, slots=True)
class ResponseCost:
    """A parsed response and its price.

    ``cost`` is ``None`` when the model has no known price (``priced`` is then false):
    never $0. ``model`` is the name that was priced (the response's own unless one was
    given), ``price_key`` the price-book entry it resolved to.
    """

    response: ParsedResponse
    cost: Cost | None
    model: str | None
    price_key: str | None

    @property
    def usage(self) -> Usage:
        """The normalised usage of the response."""
        return self.response.usage

    @property
    def provider(self) -> str:
        """The provider (told by the body's shape; a fitting label is kept)."""
        return self.response.provider

    @property
    def api(self) -> str:
        """The wire format: ``chat.completions``, ``responses``, ``messages``, ..."""
        return self.response.api

    @property
    def service_tier(self) -> str | None:
        """The service tier the provider reports it served the request on."""
        return self.response.service_tier

    @property
    def priced(self) -> bool:
        """Whether a price was found."""
        return self.cost is not None

    @property
    def estimated(self) -> bool:
        """Whether the token counts are estimates (never, for a provider's own usage)."""
        return self.response.usage.estimated

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape ``tokenomy cost`` prints (Decimals as strings, ``None`` as null)."""
        return {
            "model": self.model,
            "provider": self.provider,
            "api": self.api,
            "usage": self.usage.counts(),
            "cost": None if self.cost is None else self.cost.to_dict(),
            "priced": self.priced,
            "estimated": self.estimated,
            "price_key": self.price_key,
            "service_tier": self.service_tier,
            "streamed": self.response.streamed,
            "response_id": self.response.response_id,
            "finish_reason": self.response.finish_reason,
        }


def cost_of_response(
    body: str | bytes | Mapping[str, Any] | Any,
    *,
    provider: str | None = None,
    model: str | None = None,
    price_book: PriceBook | None = None,
) -> ResponseCost:
    """Parse one raw provider response and price it.

    ``body`` is anything :func:`tokenomy.usage.parse_response` reads: a JSON body, SSE
    text, a JSON list of stream chunks/events (as text, bytes or decoded), or an SDK
    object. ``model`` names the model when the body has none (Bedrock Converse) or should
    be priced as another. The service tier the body reports is priced at its rates.
    ``price_book`` defaults to the process-wide book. An unknown model gives ``cost=None``
    and an :class:`~tokenomy.exceptions.UnknownModelPriceWarning` (or
    :class:`~tokenomy.exceptions.UnknownModelPriceError` from a strict book); an unreadable
    body raises :class:`~tokenomy.exceptions.UsageParseError`.
    """
    from tokenomy.pricing import get_price_book
    from tokenomy.usage import parse_response

    parsed = parse_response(body, provider=provider)
    book = price_book if price_book is not None else get_price_book()
    name = model or parsed.model
    if not name:
        warnings.warn(
            f"The {parsed.api} response names no model, so it cannot be priced (cost None). "
            "Pass model=... (tokenomy cost --model NAME).",
            UnknownModelPriceWarning,
            stacklevel=2,
        )
        return ResponseCost(response=parsed, cost=None, model=None, price_key=None)
    cost = book.price(
        name, parsed.usage, provider=parsed.provider, service_tier=parsed.service_tier
    )
    key = book.resolve(name, parsed.provider) if cost is not None else None
    return ResponseCost(response=parsed, cost=cost, model=name, price_key=key)
