"""The provider simulator fixture for the LangChain tests (a started simulator per test)."""

from __future__ import annotations

from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401
