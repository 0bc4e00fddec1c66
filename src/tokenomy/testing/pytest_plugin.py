"""pytest fixture: ``provider_simulator``, a started :class:`ProviderSimulator` per test.

Register with ``pytest_plugins = ["tokenomy.testing.pytest_plugin"]`` in a root conftest, or
import the fixture into a test module::

    from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401

The simulator is stopped after the test. If an answer rule raised during the test (each such
request was answered with a 500), the test fails at teardown with the first exception, so
broken rules never hide behind client retries; call ``sim.clear()`` to accept them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tokenomy.testing._simulator import ProviderSimulator

__all__ = ["provider_simulator"]


@pytest.fixture
def provider_simulator() -> Iterator[ProviderSimulator]:
    """A running :class:`~tokenomy.testing.ProviderSimulator` on a free loopback port."""
    sim = ProviderSimulator().start()
    try:
        yield sim
    finally:
        sim.stop()
    errors = sim.errors
    if errors:
        first = errors[0]
        pytest.fail(
            f"the provider simulator's answer rule raised {len(errors)} time(s); first: "
            f"{type(first).__name__}: {first}",
            pytrace=False,
        )
