"""Real SDK clients pointed at a per-test provider simulator (no mocks, loopback HTTP only)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anthropic
import openai
import pytest

from tokenomy.testing import ProviderSimulator
from tokenomy.testing.pytest_plugin import (  # noqa: F401
    provider_simulator,
    provider_simulator_factory,
)

API_KEY = "sk-simulator-test"


@pytest.fixture
def sim(provider_simulator: ProviderSimulator) -> ProviderSimulator:  # noqa: F811
    """The running simulator of this test."""
    return provider_simulator


@pytest.fixture
def oai(sim: ProviderSimulator) -> Iterator[openai.OpenAI]:
    """A synchronous OpenAI client without retries."""
    client = openai.OpenAI(base_url=sim.openai_base_url, api_key=API_KEY, max_retries=0)
    yield client
    client.close()


@pytest.fixture
async def aoai(sim: ProviderSimulator) -> AsyncIterator[openai.AsyncOpenAI]:
    """An asynchronous OpenAI client without retries."""
    client = openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key=API_KEY, max_retries=0)
    yield client
    await client.close()


@pytest.fixture
def claude(sim: ProviderSimulator) -> Iterator[anthropic.Anthropic]:
    """A synchronous Anthropic client without retries."""
    client = anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key=API_KEY, max_retries=0)
    yield client
    client.close()


@pytest.fixture
async def aclaude(sim: ProviderSimulator) -> AsyncIterator[anthropic.AsyncAnthropic]:
    """An asynchronous Anthropic client without retries."""
    client = anthropic.AsyncAnthropic(
        base_url=sim.anthropic_base_url, api_key=API_KEY, max_retries=0
    )
    yield client
    await client.close()
