"""Image token estimates (OpenAI's published tile rule, sizes unknown unless inlined)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["openai_image_tokens"]

_LOW_DETAIL = 85
_PER_TILE = 170
_DEFAULT_TILES = 4  # a 1024x1024 image at detail=high/auto: 2x2 tiles of 512


def openai_image_tokens(part: Mapping[str, Any], model: str) -> int:
    """Estimated tokens of one image part for a gpt-4o class model."""
    image = part.get("image_url")
    detail = part.get("detail")
    if isinstance(image, Mapping):
        detail = image.get("detail", detail)
    if detail == "low":
        return _LOW_DETAIL
    return _LOW_DETAIL + _PER_TILE * _DEFAULT_TILES
