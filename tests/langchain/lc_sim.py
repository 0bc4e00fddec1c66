"""Real LangChain clients pointed at the provider simulator, and the check every end-to-end
test makes: the ledger holds what the simulator billed, priced by the price book."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI

from tokenomy import CostRecord, LedgerStore, PriceBook, Usage
from tokenomy.testing import ProviderSimulator

#: A system prompt well over the 1,024-token minimum of OpenAI's and Anthropic's prompt caches.
LONG_PREFIX = " ".join(
    f"Rule {i}: answer politely, cite the handbook section {i}, and never invent facts."
    for i in range(120)
)


def openai_chat(sim: ProviderSimulator, model: str = "gpt-4o-mini", **kw: Any) -> ChatOpenAI:
    """ChatOpenAI on chat completions; stream_usage=True because a base_url turns it off."""
    kw.setdefault("stream_usage", True)
    return ChatOpenAI(
        model=model, base_url=sim.openai_base_url, api_key="test", **{"max_retries": 0, **kw}
    )


def openai_responses(sim: ProviderSimulator, model: str = "gpt-4.1-mini", **kw: Any) -> ChatOpenAI:
    """ChatOpenAI on the Responses API (which always reports usage, streamed or not)."""
    return ChatOpenAI(
        model=model,
        base_url=sim.openai_base_url,
        api_key="test",
        max_retries=0,
        use_responses_api=True,
        **kw,
    )


def anthropic(sim: ProviderSimulator, model: str = "claude-haiku-4-5", **kw: Any) -> ChatAnthropic:
    """ChatAnthropic on the simulator's /v1/messages."""
    return ChatAnthropic(
        model=model, base_url=sim.anthropic_base_url, api_key="test", max_retries=0, **kw
    )


def price(model: str, usage: Usage) -> Decimal:
    """What the default price book says ``usage`` on ``model`` costs (must be priced)."""
    cost = PriceBook.default().price(model, usage)
    assert cost is not None, f"{model} has no price"
    return cost.total


def _row(model: str, usage: Usage, cost: Decimal | None) -> tuple[Any, ...]:
    return (model, *usage.counts().values(), cost)


def assert_ledger_matches(
    ledger: LedgerStore, sim: ProviderSimulator, *, calls: int
) -> list[CostRecord]:
    """The ledger's spending records are exactly the simulator's calls: same model, same six
    token counts, and each costs what the price book charges for the simulator's usage."""
    records = [r for r in ledger.query() if not r.is_cache_hit]
    billed = sim.calls
    assert len(billed) == calls, f"simulator answered {len(billed)} calls, expected {calls}"
    got = sorted((_row(r.model, r.usage, r.total_cost) for r in records), key=str)
    want = sorted((_row(c.model, c.usage, price(c.model, c.usage)) for c in billed), key=str)
    assert got == want
    assert not any(r.estimated for r in records)
    return records
