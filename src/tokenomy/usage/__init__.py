"""Normalised token usage and one parser per provider wire format."""

from tokenomy.usage._model import USAGE_FIELDS, Usage

__all__ = ["USAGE_FIELDS", "Usage"]
