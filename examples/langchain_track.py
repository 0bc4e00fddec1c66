"""Attribute a LangChain app's spend per feature and user with tokenomy_langchain.track().

    python examples/langchain_track.py

No callbacks are passed: track() attaches the handler to every LangChain call in the block.
Runs a prompt | model chain (named with run_name) for two users against the local provider
simulator, repeats one question so LangChain's LLM cache answers it, and prints what each
run cost, what the cache saved, and the spend per user.
"""

from __future__ import annotations

import sys

from langchain_core.caches import InMemoryCache
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI

import tokenomy_langchain
from tokenomy import MemoryLedger
from tokenomy.report import format_cost, format_usd
from tokenomy.testing import ProviderSimulator


def main() -> int:
    ledger = MemoryLedger()
    with ProviderSimulator(answer="Restart the router, then wait two minutes.") as sim:
        model = ChatOpenAI(
            model="gpt-4o-mini",
            base_url=sim.openai_base_url,
            api_key="sim",
            cache=InMemoryCache(),  # a repeated question is answered by LangChain's cache
        )
        prompt = ChatPromptTemplate.from_messages(
            [("system", "You are a helpful support agent."), ("human", "{question}")]
        )
        chain = (prompt | model | StrOutputParser()).with_config(run_name="answer_ticket")

        with tokenomy_langchain.track(ledger=ledger, feature="support") as app:
            for user, questions in {
                "alice": ["My internet is down.", "Still down."],
                "bob": ["My internet is down."],  # same prompt as alice's first: a cache hit
            }.items():
                with tokenomy_langchain.track(user=user):
                    chain.batch([{"question": q} for q in questions])

    report = app.report()
    print("runs:")
    for run in report.runs():
        hit = "  (LLM cache hit)" if run.cache_hits else ""
        print(f"  {run.label:<14} {format_cost(run.cost, run.unpriced):>10}{hit}")
    print("by user:")
    for group in report.by("user"):
        print(f"  {group.key['user']:<14} {format_cost(group.cost, group.unpriced):>10}")
    print(
        f"spent: {format_usd(app.cost)} over {app.calls} calls; cache saved {format_usd(app.saved)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
