"""The dated price snapshot tokenomy ships, generated from litellm's bundled price map.

``scripts/update_price_snapshot.py`` regenerates ``_data/litellm-prices.json.gz`` from the
installed litellm (read as a file, never imported). Shipping a dated snapshot keeps costs
reproducible: upgrading litellm does not silently reprice a ledger. ``PriceBook.from_litellm()``
reads the installed litellm's newer map when that is what a user wants.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tokenomy.exceptions import ConfigurationError

__all__ = [
    "LITELLM_PRICE_FILE",
    "PriceSnapshot",
    "build_snapshot",
    "litellm_price_file",
    "load_bundled",
    "load_litellm",
]

LITELLM_PRICE_FILE = "model_prices_and_context_window_backup.json"
_BUNDLED = Path(__file__).with_name("_data") / "litellm-prices.json.gz"

# Keys kept from each litellm entry: token prices of every dimension and tier, audio-token
# prices, per-request and per-web-search fees, and what names the entry. Image, video,
# per-pixel and per-character prices are dropped: tokenomy's Usage does not count those units.
_KEEP = re.compile(
    r"^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
    r"|cache_creation_input_token_cost|output_cost_per_reasoning_token|input_cost_per_request"
    r"|input_cost_per_audio_token|output_cost_per_audio_token)"
)
_META_KEYS = (
    "litellm_provider",
    "mode",
    "tiered_pricing",
    "max_input_tokens",
    "search_context_cost_per_query",
)


@dataclass(frozen=True, slots=True)
class PriceSnapshot:
    """Where a price book's data came from: ``version`` reads like ``litellm-1.106.2 (2026-11-22)``."""

    source: str
    litellm_version: str | None
    date: str | None
    sha256: str
    models: int

    @property
    def version(self) -> str:
        """A short, dated identifier of the snapshot."""
        ver = f"{self.source}-{self.litellm_version}" if self.litellm_version else self.source
        return f"{ver} ({self.date})" if self.date else ver


def litellm_price_file() -> Path:
    """The price map inside the installed litellm package, located without importing it."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "litellm is not installed, so its price map cannot be read. "
            "Install it (pip install litellm) or use PriceBook.default() (the bundled snapshot)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / LITELLM_PRICE_FILE
    if not path.exists():
        raise ConfigurationError(f"litellm is installed but {path} is missing")
    return path


def _trim(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, entry in raw.items():
        if name == "sample_spec" or not isinstance(entry, dict):
            continue
        kept = {
            k: v
            for k, v in entry.items()
            if (
                _KEEP.match(k)
                and not any(x in k for x in ("image", "video"))
                and ("audio" not in k or "audio_token" in k)
            )
            or k in _META_KEYS
        }
        if any("cost" in k for k in kept) or "tiered_pricing" in kept:
            out[name] = kept
    return out


def build_snapshot(source_file: Path, *, litellm_version: str, on: date) -> bytes:
    """The gzipped snapshot document for ``source_file`` (litellm's price map)."""
    data = source_file.read_bytes()
    doc = {
        "source": "litellm",
        "litellm_version": litellm_version,
        "date": on.isoformat(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "models": _trim(json.loads(data)),
    }
    text = json.dumps(doc, separators=(",", ":"), sort_keys=True)
    return gzip.compress(text.encode(), mtime=0)


def load_bundled() -> tuple[PriceSnapshot, dict[str, dict[str, Any]]]:
    """The snapshot shipped with tokenomy."""
    doc = json.loads(gzip.decompress(_BUNDLED.read_bytes()))
    models: dict[str, dict[str, Any]] = doc["models"]
    snap = PriceSnapshot(
        source=doc["source"],
        litellm_version=doc.get("litellm_version"),
        date=doc.get("date"),
        sha256=doc["sha256"],
        models=len(models),
    )
    return snap, models


def load_litellm() -> tuple[PriceSnapshot, dict[str, dict[str, Any]]]:
    """The price map of the installed litellm (newer than the snapshot, undated)."""
    from importlib.metadata import PackageNotFoundError, version

    path = litellm_price_file()
    data = path.read_bytes()
    try:
        ver: str | None = version("litellm")
    except PackageNotFoundError:  # pragma: no cover - a vendored copy without metadata
        ver = None
    models = _trim(json.loads(data))
    snap = PriceSnapshot(
        source="litellm",
        litellm_version=ver,
        date=None,
        sha256=hashlib.sha256(data).hexdigest(),
        models=len(models),
    )
    return snap, models
