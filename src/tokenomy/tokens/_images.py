"""Image token estimates for OpenAI models, from the image's size when it is inlined.

OpenAI's published rules ("Images and vision" guide, "Calculating costs"):

* tile models: scale into 2048x2048, then the short side to 768; cost is
  ``base + per_tile * tiles`` (512 px tiles); ``detail="low"`` costs ``base`` only.
* patch models: 32 px patches, scaled down to at most ``cap`` patches, times a multiplier.

Sizes are read from base64 data URLs (PNG, JPEG, GIF, WebP headers); an image given by URL is
assumed to be 1024x1024. gpt-5.1 and later are not in the published tables: the one image
request in the shared cassettes (gpt-5.5, 1245x1395 PNG) costs 1.2 tokens per 32 px patch.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Mapping
from typing import Any

from tokenomy.tokens._chat_format import bare_model

__all__ = ["image_size", "openai_image_tokens"]

_DEFAULT_SIZE = (1024, 1024)

# (prefix, base, per_tile); longest matching prefix wins.
_TILE_MODELS: tuple[tuple[str, int, int], ...] = (
    ("gpt-4o-mini", 2833, 5667),
    ("gpt-4o", 85, 170),
    ("chatgpt-4o", 85, 170),
    ("gpt-4.1", 85, 170),
    ("gpt-4.5", 85, 170),
    ("gpt-4", 85, 170),
    ("o1", 75, 150),
    ("o3", 75, 150),
    ("computer-use", 65, 129),
    ("gpt-5-chat", 70, 140),
    ("gpt-5", 70, 140),
)
# (prefix, multiplier, patch cap)
_PATCH_MODELS: tuple[tuple[str, float, int], ...] = (
    ("gpt-4.1-mini", 1.62, 1536),
    ("gpt-4.1-nano", 2.46, 1536),
    ("o4-mini", 1.72, 1536),
    ("gpt-5-mini", 1.62, 1536),
    ("gpt-5-nano", 2.46, 1536),
    ("gpt-5.", 1.2, 2500),
    ("gpt-6", 1.2, 2500),
)


def _match(name: str, table: tuple[tuple[str, Any, Any], ...]) -> tuple[str, Any, Any] | None:
    hits = [row for row in table if name.startswith(row[0])]
    return max(hits, key=lambda row: len(row[0])) if hits else None


def openai_image_tokens(part: Mapping[str, Any], model: str) -> int:
    """Estimated tokens of one image content part (chat ``image_url`` or ``input_image``)."""
    image = part.get("image_url")
    detail = part.get("detail")
    url = image
    if isinstance(image, Mapping):
        detail = image.get("detail", detail)
        url = image.get("url")
    width, height = image_size(url if isinstance(url, str) else None) or _DEFAULT_SIZE
    name = bare_model(model)
    patch = _match(name, _PATCH_MODELS)
    tile = _match(name, _TILE_MODELS)
    if patch is not None and (tile is None or len(patch[0]) >= len(tile[0])):
        return _patch_tokens(width, height, patch[1], patch[2], low=detail == "low")
    base, per_tile = (tile[1], tile[2]) if tile is not None else (85, 170)
    if detail == "low":
        return int(base)
    return int(base + per_tile * _tiles(width, height))


def _tiles(width: int, height: int) -> int:
    scale = min(1.0, 2048 / max(width, height))
    scale *= min(1.0, 768 / (min(width, height) * scale))
    return math.ceil(width * scale / 512) * math.ceil(height * scale / 512)


def _patch_tokens(width: int, height: int, multiplier: float, cap: int, *, low: bool) -> int:
    if low:
        cap = min(cap, 256)
    patches = math.ceil(width / 32) * math.ceil(height / 32)
    if patches > cap:
        shrink = math.sqrt(cap * 32 * 32 / (width * height))
        w_patches = width * shrink / 32
        h_patches = height * shrink / 32
        shrink *= min(math.floor(w_patches) / w_patches, math.floor(h_patches) / h_patches)
        patches = math.ceil(width * shrink / 32) * math.ceil(height * shrink / 32)
    return math.ceil(patches * multiplier)


def image_size(url: str | None) -> tuple[int, int] | None:
    """(width, height) of a base64 ``data:`` URL image, or None when it cannot be read."""
    if not url or not url.startswith("data:") or "," not in url:
        return None
    try:
        head = base64.b64decode(url.split(",", 1)[1][:65536] + "==", validate=False)
    except (binascii.Error, ValueError):
        return None
    return image_size_from_bytes(head)


def image_size_from_bytes(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of PNG, GIF, WebP or JPEG bytes."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", data[6:10])
            return int(width), int(height)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data[:2] == b"\xff\xd8":
            return _jpeg_size(data)
    except struct.error:
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            index += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        index += 2 + length
    return None
