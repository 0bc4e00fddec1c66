"""`tokenomy prices`: the snapshot in use and per-million rates of resolved models."""

from __future__ import annotations

import json

import pytest

from tokenomy.cli import main


def test_prices_shows_snapshot_and_resolution(capsys: pytest.CaptureFixture[str]) -> None:
    """Known models print their key and per-million rates; an unknown one exits 1, unpriced."""
    code = main(["prices", "openai/gpt-4o", "claude-haiku-4-5", "acme-nothing"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc["snapshot"].startswith("litellm-")
    gpt = doc["models"]["openai/gpt-4o"]
    assert gpt["price_key"] == "gpt-4o"
    assert gpt["usd_per_million"]["input"] == "2.5"
    assert gpt["usd_per_million"]["service_tiers"]["batch"]["input"] == "1.25"
    haiku = doc["models"]["claude-haiku-4-5"]["usd_per_million"]
    assert (haiku["cache_write_5m"], haiku["cache_write_1h"], haiku["cache_read"]) == ("1.25", "2", "0.1")
    assert doc["models"]["acme-nothing"] == {"price_key": None, "priced": False}
