"""Price overrides from TOML and JSON files, and the TOKENOMY_PRICES environment variable."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tokenomy import PriceFileError, Usage
from tokenomy.pricing import PriceBook, get_price_book, set_price_book


def test_toml_file_models_and_aliases(tmp_path: Path) -> None:
    """A TOML file adds per-million prices and aliases on top of the snapshot."""
    path = tmp_path / "prices.toml"
    path.write_text(
        """
[models."my-finetune"]
input_per_million = "3.00"
output_per_million = "12.00"
cache_read_per_million = "0.30"
provider = "openai"

[aliases]
"prod-deployment" = "my-finetune"
"""
    )
    book = PriceBook.from_file(path)
    cost = book.price("prod-deployment", Usage(input=2_000_000, output=1_000_000, cache_read=1_000_000))
    assert cost is not None
    assert cost.parts == {
        "input": Decimal("3.00"),
        "cache_read": Decimal("0.30"),
        "output": Decimal("12.00"),
    }
    assert book.lookup("gpt-4o") is not None  # the snapshot is still there


def test_json_litellm_style_map(tmp_path: Path) -> None:
    """A litellm-style JSON map (per-token keys) is accepted as overrides."""
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"in-house-7b": {"input_cost_per_token": 1e-07, "output_cost_per_token": 2e-07}}))
    cost = PriceBook.from_file(path).price("in-house-7b", Usage(input=10, output=10))
    assert cost is not None and cost.total == Decimal("0.000003")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[models.x]\noutput_per_million = 1\n", "needs at least input_per_million"),
        ("[models.x]\ninput_per_million = 1\nprice = 2\n", "unknown keys ['price']"),
        ("[models\n", "not valid TOML"),
    ],
)
def test_bad_files_raise_typed_errors(tmp_path: Path, content: str, fragment: str) -> None:
    """Malformed override files raise PriceFileError naming the file and the problem."""
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(PriceFileError) as info:
        PriceBook.from_file(path)
    assert fragment in str(info.value)
    assert "bad.toml" in str(info.value)


def test_env_var_names_overrides_for_default_book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TOKENOMY_PRICES is read when the process-wide book is first needed."""
    path = tmp_path / "p.toml"
    path.write_text('[models."env-model"]\ninput_per_million = "1"\noutput_per_million = "1"\n')
    monkeypatch.setenv("TOKENOMY_PRICES", str(path))
    old = set_price_book(None)
    try:
        assert get_price_book().lookup("env-model") is not None
    finally:
        set_price_book(old)
