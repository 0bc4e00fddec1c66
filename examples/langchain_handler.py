"""Cost-track LangChain calls with TokenomyCallbackHandler (offline: a local provider simulator).

    python examples/langchain_handler.py

Starts the tokenomy provider simulator on loopback, points real ChatOpenAI and ChatAnthropic
clients at it, makes an invoke, a batch and a stream with the handler in ``callbacks``, and
prints each recorded call and the total, priced with the bundled price book.
"""

from __future__ import annotations

import sys

from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI

from tokenomy import MemoryLedger
from tokenomy.report import Report, format_cost, format_usd
from tokenomy.testing import ProviderSimulator
from tokenomy_langchain import TokenomyCallbackHandler


def main() -> int:
    with ProviderSimulator(answer="Paris is the capital of France.") as sim:
        ledger = MemoryLedger()
        handler = TokenomyCallbackHandler(ledger=ledger, tags={"feature": "geography"})
        config = {"callbacks": [handler]}
        # A base_url turns ChatOpenAI's streamed usage off; stream_usage=True turns it back on.
        gpt = ChatOpenAI(
            model="gpt-4o-mini", base_url=sim.openai_base_url, api_key="sim", stream_usage=True
        )
        claude = ChatAnthropic(
            model="claude-haiku-4-5", base_url=sim.anthropic_base_url, api_key="sim"
        )

        gpt.invoke("What is the capital of France?", config=config)
        gpt.batch(["And of Spain?", "And of Italy?"], config=config)
        for _ in claude.stream("Tell me about Paris.", config=config):
            pass

    print(f"{'call':<14} {'model':<18} {'in':>5} {'out':>5} {'cost':>11}  ttft")
    for r in ledger.query():
        ttft = f"{r.ttft_ms:.1f} ms" if r.ttft_ms is not None else "-"
        cost = format_usd(r.total_cost) if r.total_cost is not None else "unpriced"
        print(
            f"{r.name:<14} {r.model:<18} {r.usage.input:>5} {r.usage.output:>5} {cost:>11}  {ttft}"
        )
    totals = Report(ledger.query()).totals
    print(f"total: {format_cost(totals.cost, totals.unpriced)} over {totals.count} calls")
    return 0 if handler.failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
