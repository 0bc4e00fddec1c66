"""pytest fixtures: ``provider_simulator`` (a started :class:`ProviderSimulator` per test) and
``provider_simulator_factory`` (start configured ones; all stopped after the test).

Register with ``pytest_plugins = ["tokenomy.testing.pytest_plugin"]`` in a root conftest, or
import the fixtures into a test module::

    from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401

Simulators are stopped after the test. If an answer rule raised during the test (each such
request was answered with a 500), the test fails at teardown with the first exception, so
broken rules never hide behind client retries; call ``sim.clear()`` to accept them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tokenomy.testing._simulator import ProviderSimulator

__all__ = ["provider_simulator", "provider_simulator_factory"]


def _stop_and_check(sims: list[ProviderSimulator]) -> None:
    for sim in sims:
        sim.stop()
    for sim in sims:
        errors = sim.errors
        if errors:
            first = errors[0]
            pytest.fail(
                f"the provider simulator's answer rule raised {len(errors)} time(s); first: "
                f"{type(first).__name__}: {first}",
                pytrace=False,
            )


@pytest.fixture
def provider_simulator() -> Iterator[ProviderSimulator]:
    """A running :class:`~tokenomy.testing.ProviderSimulator` on a free loopback port."""
    sim = ProviderSimulator().start()
    try:
        yield sim
    finally:
        sim.stop()
    _stop_and_check([sim])


@pytest.fixture
def provider_simulator_factory() -> Iterator[Callable[..., ProviderSimulator]]:
    """``make(**settings)`` starts a :class:`~tokenomy.testing.ProviderSimulator` with those
    settings (``answer=``, ``reasoning_tokens=``, ``latency=``...); all stop after the test."""
    sims: list[ProviderSimulator] = []

    def make(**settings: Any) -> ProviderSimulator:
        sim = ProviderSimulator(**settings).start()
        sims.append(sim)
        return sim

    try:
        yield make
    finally:
        for sim in sims:
            sim.stop()
    _stop_and_check(sims)
