"""The provider simulator fixtures for the LangChain tests (started per test, stopped after)."""

from __future__ import annotations

from tokenomy.testing.pytest_plugin import (  # noqa: F401
    provider_simulator,
    provider_simulator_factory,
)
