"""Prices: the :class:`PriceBook`, model prices and the priced :class:`Cost` of a call.

Each name is imported from its private module on first access, so importing one module
of this package (a report reading ``_model``) does not import the rest.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy.pricing._book import PriceBook, get_price_book, set_price_book
    from tokenomy.pricing._model import COST_DIMENSIONS, ContextTier, Cost, ModelPrice
    from tokenomy.pricing._snapshot import PriceSnapshot

_LAZY: dict[str, str] = {
    "COST_DIMENSIONS": "tokenomy.pricing._model",
    "ContextTier": "tokenomy.pricing._model",
    "Cost": "tokenomy.pricing._model",
    "ModelPrice": "tokenomy.pricing._model",
    "PriceBook": "tokenomy.pricing._book",
    "PriceSnapshot": "tokenomy.pricing._snapshot",
    "get_price_book": "tokenomy.pricing._book",
    "set_price_book": "tokenomy.pricing._book",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
