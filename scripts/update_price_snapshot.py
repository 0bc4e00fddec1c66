"""Regenerate src/tokenomy/pricing/_data/litellm-prices.json.gz from the installed litellm.

Run with the project environment: ``.venv/bin/python scripts/update_price_snapshot.py``.
litellm is read as a file, never imported. Commit the new snapshot with a message naming the
litellm version; the snapshot's date is today's.
"""

from __future__ import annotations

from datetime import date
from importlib.metadata import version
from pathlib import Path

from tokenomy.pricing._snapshot import build_snapshot, litellm_price_file

OUT = Path(__file__).resolve().parent.parent / "src/tokenomy/pricing/_data/litellm-prices.json.gz"


def main() -> None:
    blob = build_snapshot(litellm_price_file(), litellm_version=version("litellm"), on=date.today())
    OUT.write_bytes(blob)
    print(f"wrote {OUT} ({len(blob)} bytes) from litellm {version('litellm')}")


if __name__ == "__main__":
    main()
