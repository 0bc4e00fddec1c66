"""OpenAI image costs follow the published tile and patch rules; sizes read from headers."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from tokenomy.tokens._images import image_size, image_size_from_bytes, openai_image_tokens


def _png(width: int, height: int) -> bytes:
    chunk = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


def _jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def _gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00"


def _webp_vp8x(width: int, height: int) -> bytes:
    body = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    body += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


@pytest.mark.parametrize("make", [_png, _jpeg, _gif, _webp_vp8x])
def test_image_size_from_headers(make: object) -> None:
    """Width and height are read from PNG, JPEG, GIF and WebP headers."""
    assert image_size_from_bytes(make(1245, 1395)) == (1245, 1395)  # type: ignore[operator]


def test_image_size_of_data_urls_only() -> None:
    """data: URLs are decoded; http URLs and garbage give None."""
    url = "data:image/png;base64," + base64.b64encode(_png(640, 480)).decode()
    assert image_size(url) == (640, 480)
    assert image_size("https://example.com/cat.png") is None
    assert image_size("data:image/png;base64,!!!!") is None


def _part(width: int, height: int, detail: str = "auto") -> dict[str, object]:
    url = "data:image/png;base64," + base64.b64encode(_png(width, height)).decode()
    return {"type": "image_url", "image_url": {"url": url, "detail": detail}}


def test_tile_rule_matches_openai_examples() -> None:
    """gpt-4o: 1024x1024 high = 85 + 4x170; 2048x4096 = 85 + 6x170; low = 85."""
    assert openai_image_tokens(_part(1024, 1024), "gpt-4o") == 85 + 4 * 170
    assert openai_image_tokens(_part(2048, 4096), "gpt-4o") == 85 + 6 * 170
    assert openai_image_tokens(_part(4096, 8192, "low"), "gpt-4o") == 85


def test_tile_models_use_their_own_rates() -> None:
    """gpt-4o-mini and gpt-5 use their published base/tile rates."""
    assert openai_image_tokens(_part(512, 512), "gpt-4o-mini") == 2833 + 5667
    assert openai_image_tokens(_part(512, 512), "gpt-5") == 70 + 140


def test_patch_rule_matches_openai_example() -> None:
    """gpt-4.1-mini: 1800x2400 is scaled to 1452 patches, times 1.62."""
    assert openai_image_tokens(_part(1800, 2400), "gpt-4.1-mini") == -(-1452 * 162 // 100)
    assert openai_image_tokens(_part(64, 64), "gpt-5-nano") == -(-4 * 246 // 100)


def test_image_by_url_assumes_1024_square() -> None:
    """An image given by URL (size unknown) is priced as 1024x1024."""
    part = {"type": "input_image", "image_url": "https://example.com/a.png"}
    assert openai_image_tokens(part, "gpt-4o") == openai_image_tokens(_part(1024, 1024), "gpt-4o")
