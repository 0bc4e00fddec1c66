"""The simulator fixtures for the resilience tests."""

from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401
