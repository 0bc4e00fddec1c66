"""Fixtures for the whole suite (shared data paths live in tests/shared_data.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _fresh_process_defaults() -> Iterator[None]:
    """Each test starts with an empty default ledger and unknown-model warnings not yet given."""
    from tokenomy.ledger import MemoryLedger, set_default_ledger
    from tokenomy.pricing import get_price_book

    get_price_book().reset_warnings()
    old = set_default_ledger(MemoryLedger())
    try:
        yield
    finally:
        set_default_ledger(old)


@pytest.fixture(autouse=True)
def _no_network_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with litellm's local price map (never fetched) and no provider keys."""
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.delenv("TOKENOMY_LEDGER", raising=False)
    monkeypatch.delenv("TOKENOMY_PRICES", raising=False)
