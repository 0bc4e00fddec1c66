"""Prices: the :class:`PriceBook`, model prices and the priced :class:`Cost` of a call."""

from tokenomy.pricing._model import COST_DIMENSIONS, ContextTier, Cost, ModelPrice

__all__ = ["COST_DIMENSIONS", "ContextTier", "Cost", "ModelPrice"]
