"""Image generation billed per image: OpenAI's image models by quality and size.

The OpenAI Responses ``image_generation`` tool (and the Images API) bill each image by the
image model's output image tokens for the quality and size made, a fixed amount per image that
the price map lists per ``<quality>/<W>-x-<H>/<model>`` (``input_cost_per_image``). A
Responses ``image_generation_call`` item reports its ``quality`` and ``size``, and the
response's ``tools`` name the image model when it is not the default ``gpt-image-1``: enough to
price the image. The rates below are litellm 1.106.2's (its bundled price map, MIT; the same
version and date as the price snapshot, whose trimming drops image keys); an image of another
model, quality or size (``auto`` unresolved, partial images) is left unpriced and noted.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy.pricing._model import ModelPrice
    from tokenomy.usage._model import Usage, UsageExtra

__all__ = ["DEFAULT_IMAGE_MODEL", "IMAGE_PRICES", "image_cost", "price_images"]

#: The image model of the ``image_generation`` tool when the response names none.
DEFAULT_IMAGE_MODEL = "gpt-image-1"

_RATES = {
    "gpt-image-1": {
        "low": ("0.011", "0.016", "0.016"),
        "medium": ("0.042", "0.063", "0.063"),
        "high": ("0.167", "0.25", "0.25"),
    },
    "gpt-image-1-mini": {
        "low": ("0.005", "0.006", "0.006"),
        "medium": ("0.011", "0.015", "0.015"),
    },
    "gpt-image-1.5": {
        "low": ("0.009", "0.013", "0.013"),
        "medium": ("0.034", "0.05", "0.05"),
        "high": ("0.133", "0.2", "0.2"),
    },
}
_SIZES = ("1024x1024", "1024x1536", "1536x1024")

#: USD per image by ``(model, quality, size)``.
IMAGE_PRICES: dict[tuple[str, str, str], Decimal] = {
    (model, quality, size): Decimal(rate)
    for model, by_quality in _RATES.items()
    for quality, rates in by_quality.items()
    for size, rate in zip(_SIZES, rates, strict=True)
}


def image_cost(images: Iterable[tuple[str, str, str]]) -> tuple[Decimal, list[str]]:
    """``(USD, unpriced)`` of image calls ``(model, quality, size)``: the sum of the known
    per-image rates, and a description of each image without one."""
    total = Decimal(0)
    unknown: list[str] = []
    for model, quality, size in images:
        name = model.rsplit("/", 1)[-1] if model else DEFAULT_IMAGE_MODEL
        rate = IMAGE_PRICES.get((name, quality, size))
        if rate is None:
            unknown.append(f"{name} {quality or '?'} {size or '?'}")
        else:
            total += rate
    return total, unknown


def price_images(
    extra: UsageExtra,
    costing: tuple[Any, ...] | None,
    entry: tuple[str, ModelPrice] | None,
    usage: Usage,
    service_tier: str | None,
    notes: list[str],
) -> tuple[Any, ...] | None:
    """``costing`` (``ModelPrice.priced``'s tuple; ``None``: not computed yet) plus the
    call's images at their per-image rates, as the ``image_generation`` part; an image
    without a rate (model, quality or size unknown) is named in ``notes`` and left out (the
    cost is then a visible lower bound). An unpriced call stays unpriced."""
    amount, unknown = image_cost(extra.images)
    unknown += ["quality and size not reported"] * (extra.image_generations - len(extra.images))
    if amount and entry is not None:
        if costing is None:
            costing = entry[1].priced(usage, entry[0], service_tier)
        total, parts = costing[0], costing[1]
        if total is not None:
            flat = ("input", costing[5], "output", costing[6]) if parts is None else parts
            costing = (total + amount, (*flat, "image_generation", amount), *costing[2:])
    if unknown:
        notes.append(
            f"{len(unknown)} image generation call(s) unpriced: no per-image rate for "
            + ", ".join(unknown)
        )
    return costing
