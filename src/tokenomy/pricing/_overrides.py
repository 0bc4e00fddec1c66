"""Price overrides from a TOML or JSON file.

Format (TOML shown; JSON is the same shape)::

    [models."my-finetune"]          # USD per million tokens, as providers publish them
    input_per_million = "3.00"
    output_per_million = "12.00"
    cache_read_per_million = "0.30"   # optional, like cache_write_5m/_1h and reasoning
    request = "0.001"                 # optional per-request fee (USD)
    web_search = "0.01"               # optional fee per built-in web-search call (USD)
    audio_input_per_million = "32.00" # optional, like audio_output_per_million
    provider = "openai"

    [aliases]
    "my-azure-deployment" = "azure/gpt-4o"

A file that is a litellm-style price map (``{"model": {"input_cost_per_token": ...}}``) is
accepted as well.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tokenomy.exceptions import PriceFileError
from tokenomy.pricing._entries import entry_to_price
from tokenomy.pricing._model import ModelPrice

__all__ = ["load_price_file", "price_from_mapping"]

_PER_MILLION = {
    "input_per_million": "input",
    "output_per_million": "output",
    "cache_read_per_million": "cache_read",
    "cache_write_5m_per_million": "cache_write_5m",
    "cache_write_per_million": "cache_write_5m",
    "cache_write_1h_per_million": "cache_write_1h",
    "reasoning_per_million": "reasoning",
    "audio_input_per_million": "audio_input",
    "audio_output_per_million": "audio_output",
}


def price_from_mapping(name: str, spec: Mapping[str, Any], source: str) -> ModelPrice:
    """One model's prices from a file entry (per-million keys or litellm per-token keys)."""
    if any(k.endswith("_cost_per_token") or k.endswith("_token_cost") for k in spec):
        price = entry_to_price(spec, source)
        if price is None:
            raise PriceFileError(source, f"model {name!r} has no token prices")
        return price
    unknown = set(spec) - set(_PER_MILLION) - {"request", "web_search", "provider", "mode"}
    if unknown:
        raise PriceFileError(
            source,
            f"model {name!r} has unknown keys {sorted(unknown)}; "
            f"use {sorted(_PER_MILLION)} (USD per million tokens), 'request', 'web_search' "
            "(USD per call), 'provider', 'mode'",
        )
    if "input_per_million" not in spec:
        raise PriceFileError(source, f"model {name!r} needs at least input_per_million")
    kwargs: dict[str, Any] = {_PER_MILLION[k]: str(v) for k, v in spec.items() if k in _PER_MILLION}
    try:
        price = ModelPrice.per_million(
            **kwargs,
            request=str(spec.get("request", 0)),
            web_search=None if spec.get("web_search") is None else str(spec["web_search"]),
            mode=str(spec.get("mode", "chat")),
            provider=spec.get("provider"),
        )
    except (ArithmeticError, ValueError) as exc:
        raise PriceFileError(source, f"model {name!r}: {exc}") from exc
    return price.with_source(source)


def load_price_file(path: Path) -> tuple[dict[str, ModelPrice], dict[str, str]]:
    """(model prices, aliases) from ``path``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PriceFileError(str(path), str(exc)) from exc
    try:
        doc: Any = (
            tomllib.loads(raw.decode()) if path.suffix.lower() == ".toml" else json.loads(raw)
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise PriceFileError(str(path), f"not valid {path.suffix.lstrip('.').upper()}: {exc}") from exc
    if not isinstance(doc, dict):
        raise PriceFileError(str(path), "the top level must be a table/object")
    source = f"file:{path.name}"
    if "models" in doc or "aliases" in doc:
        models_doc, aliases_doc = doc.get("models", {}), doc.get("aliases", {})
    else:
        models_doc, aliases_doc = doc, {}
    if not isinstance(models_doc, dict) or not isinstance(aliases_doc, dict):
        raise PriceFileError(str(path), "'models' and 'aliases' must be tables/objects")
    models = {}
    for name, spec in models_doc.items():
        if not isinstance(spec, dict):
            raise PriceFileError(str(path), f"model {name!r} must be a table/object")
        try:
            models[str(name)] = price_from_mapping(str(name), spec, source)
        except PriceFileError as exc:
            raise PriceFileError(str(path), exc.reason) from exc
    return models, {str(k): str(v) for k, v in aliases_doc.items()}
