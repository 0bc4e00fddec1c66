"""``tokenomy.Budget`` through ``TokenomyLLM``, end to end: the real OpenAI and Anthropic
LlamaIndex LLMs on the simulator, refusals before sending, capped max_tokens in the request
bodies, streams settled when they end, and a downgrade reaching the wire."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from li_wrapper_helpers import anthropic_llm, openai_llm, wrap
from llama_index.core.base.llms.types import ChatMessage

from budget_helpers import auntil_refused, until_refused
from tokenomy import (
    Budget,
    MemoryBudgetStore,
    MemoryLedger,
    SQLiteBudgetStore,
    budget_status,
)
from tokenomy.testing import ProviderSimulator
from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401

LONG = " ".join(f"word{i}" for i in range(300))
MESSAGES = [ChatMessage(role="user", content="Tell me everything.")]


@pytest.fixture
def sim(provider_simulator: ProviderSimulator) -> ProviderSimulator:  # noqa: F811
    """The running simulator, answering at length."""
    provider_simulator.set_answer(LONG)
    return provider_simulator


def spent(ledger: MemoryLedger) -> Decimal:
    return sum((r.cost.total for r in ledger.query() if r.cost is not None), Decimal(0))


def test_chat_refused_before_sending(sim: ProviderSimulator, tmp_path: Path) -> None:
    """TokenomyLLM(OpenAI, policies=[Budget]) over SQLite: chat until refused; the refused
    call sent nothing, every body's max_tokens fits what was left, and the store's spend
    equals the ledger's."""
    store, ledger = SQLiteBudgetStore(tmp_path / "b.db"), MemoryLedger()
    llm = wrap(openai_llm(sim), ledger, [Budget(limit_usd="0.0005", store=store)])
    answered, _ = until_refused(lambda: llm.chat(MESSAGES))
    assert answered >= 1 and len(sim.requests) == answered
    assert all(r.body["max_tokens"] <= 16384 for r in sim.requests)
    [status] = budget_status(store)
    assert status.spent_usd == spent(ledger) <= Decimal("0.0005")
    assert status.open_reservations == 0


def test_stream_and_async(sim: ProviderSimulator) -> None:
    """stream_chat settles when the stream ends; achat is refused like chat."""
    store, ledger = MemoryBudgetStore(), MemoryLedger()
    llm = wrap(openai_llm(sim), ledger, [Budget(limit_usd="0.0005", store=store)])
    gen = llm.stream_chat(MESSAGES)
    first = next(gen)
    [status] = budget_status(store)
    assert first is not None and status.open_reservations == 1
    for _ in gen:
        pass
    [status] = budget_status(store)
    assert status.open_reservations == 0 and status.spent_usd == spent(ledger) > 0

    sent = len(sim.requests)
    n, _ = asyncio.run(auntil_refused(lambda: llm.achat(MESSAGES)))
    assert len(sim.requests) == sent + n


def test_anthropic_downgrade_reaches_the_wire(sim: ProviderSimulator) -> None:
    """Anthropic behind TokenomyLLM with on_exceed='downgrade': once the dear model would not
    fit, the request body names the cheaper one."""
    ledger = MemoryLedger()
    budget = Budget(limit_usd="0.01", on_exceed="downgrade", downgrade_to="claude-haiku-4-5",
                    store=MemoryBudgetStore(), min_output_tokens=100)
    llm = wrap(anthropic_llm(sim, max_tokens=100), ledger, [budget])
    until_refused(lambda: llm.chat(MESSAGES))
    wire = [r.body["model"] for r in sim.requests]
    assert wire[0] == "claude-sonnet-4-5" and wire[-1] == "claude-haiku-4-5"
    assert spent(ledger) <= Decimal("0.01")
