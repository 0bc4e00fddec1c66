"""What a LlamaIndex RAG app spends, per query and per user, with tokenomy_llamaindex.track().

    python examples/llamaindex_handler.py

Starts the local provider simulator, builds a VectorStoreIndex over a few in-memory Documents
with the real OpenAIEmbedding and OpenAI LLM pointed at it, asks a couple of questions for two
users, and prints each run (the index build, every query) with its calls, the spend per user,
and the totals. No callback or handler is wired by hand: track() attaches tokenomy's handlers
to LlamaIndex's root dispatcher on first use.
"""

from __future__ import annotations

import sys

from llama_index.core import Document, VectorStoreIndex
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI

import tokenomy_llamaindex
from tokenomy import MemoryLedger
from tokenomy.report import format_cost, format_usd
from tokenomy.testing import ProviderSimulator

DOCUMENTS = [
    Document(text="The Eiffel Tower, in Paris, was completed in 1889 and is 330 metres tall."),
    Document(text="The Brandenburg Gate in Berlin was built between 1788 and 1791."),
    Document(text="The Colosseum in Rome could hold between 50,000 and 80,000 spectators."),
]
QUESTIONS = {
    "alice": ["How tall is the Eiffel Tower?", "When was the Brandenburg Gate built?"],
    "bob": ["How many people did the Colosseum hold?"],
}


def main() -> int:
    ledger = MemoryLedger()
    with ProviderSimulator(answer="According to the context, it is as described.") as sim:
        embed_model = OpenAIEmbedding(
            model="text-embedding-3-small", api_base=sim.openai_base_url, api_key="sim"
        )
        llm = OpenAI(model="gpt-4o-mini", api_base=sim.openai_base_url, api_key="sim")

        with tokenomy_llamaindex.track(ledger=ledger, feature="museum-guide") as app:
            index = VectorStoreIndex.from_documents(DOCUMENTS, embed_model=embed_model)
            engine = index.as_query_engine(llm=llm, similarity_top_k=2)
            for user, questions in QUESTIONS.items():
                with tokenomy_llamaindex.track(user=user):
                    for question in questions:
                        engine.query(question)
        simulated = sim.total_usage()

    report = app.report()
    print("runs:")
    for run in report.runs():
        print(f"  {run.label:<42} {format_cost(run.cost, run.unpriced):>12}")
        for call in run.tree():
            r = call.record
            tokens = f"{r.usage.input} in / {r.usage.output} out"
            flag = " (counted locally)" if r.estimated else ""
            print(f"    {'  ' * (call.depth - 1)}{r.kind:<9} {r.model:<24} {tokens}{flag}")
    print("by user:")
    for group in report.by("user"):
        who = group.key.get("user") or "(index build)"
        print(f"  {who:<14} {format_cost(group.cost, group.unpriced):>12}")
    usage = app.usage
    print(
        f"spent: {format_usd(app.cost)} over {app.calls} calls "
        f"({usage.input} prompt + {usage.output} completion tokens; "
        f"the simulator billed {simulated.input} + {simulated.output})"
    )
    return 0 if (usage.input, usage.output) == (simulated.input, simulated.output) else 1


if __name__ == "__main__":
    sys.exit(main())
