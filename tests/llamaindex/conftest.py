"""Shared fixtures of the LlamaIndex integration tests: a clean root dispatcher per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tokenomy_llamaindex
from tokenomy import MemoryLedger


@pytest.fixture(autouse=True)
def _detached() -> Iterator[None]:
    """Every test starts and ends with no tokenomy handler on LlamaIndex's root dispatcher."""
    tokenomy_llamaindex.uninstrument()
    yield
    tokenomy_llamaindex.uninstrument()


@pytest.fixture
def ledger() -> MemoryLedger:
    """A fresh in-memory ledger."""
    return MemoryLedger()
