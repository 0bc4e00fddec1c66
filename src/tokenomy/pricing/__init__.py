"""Prices: the :class:`PriceBook`, model prices and the priced :class:`Cost` of a call."""

from tokenomy.pricing._book import PriceBook, get_price_book, set_price_book
from tokenomy.pricing._model import COST_DIMENSIONS, ContextTier, Cost, ModelPrice
from tokenomy.pricing._snapshot import PriceSnapshot

__all__ = [
    "COST_DIMENSIONS",
    "ContextTier",
    "Cost",
    "ModelPrice",
    "PriceBook",
    "PriceSnapshot",
    "get_price_book",
    "set_price_book",
]
