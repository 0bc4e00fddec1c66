"""The LangChain half of ``tokenomy demo`` (found through the ``tokenomy.demo`` entry point).

Needs ``langchain-openai`` (``pip install 'tokenomy-langchain[demo]'``); the demo itself (the
simulator, the ledger, the report) is the core's ``tokenomy demo``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_openai import ChatOpenAI

__all__ = ["run"]

USERS_QUESTIONS = [
    ("alice", "How long are deleted files kept on the Team plan?"),
    ("bob", "Can I require a password on shared links?"),
    ("carol", "What happens when two people edit the same file offline?"),
    ("alice", "What are the API rate limits?"),
]
HANDBOOK_QUESTIONS = [
    ("dave", "Summarise what Enterprise adds over Team."),
    ("erin", "Which plans keep audit logs, and for how long?"),
    ("dave", "How do I roll an account back after ransomware?"),
]
TICKETS = [
    ("frank", "Our invoices doubled this month and sync keeps creating conflicted copies."),
    ("grace", "Webhook deliveries stopped after we rotated our OAuth client secret."),
]


def run(sim_url: str, docs: Sequence[Path], policy: str) -> None:
    """The LangChain half: RAG chain, streaming, cached prompt prefix, reasoning, LLM cache."""
    from langchain_core.caches import InMemoryCache
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough
    from langchain_core.vectorstores import InMemoryVectorStore
    from langchain_openai import OpenAIEmbeddings

    import tokenomy_langchain

    common: dict[str, Any] = {"base_url": sim_url, "api_key": "sk-demo-offline"}
    embeddings = OpenAIEmbeddings(
        model="text-embedding-3-small", check_embedding_ctx_length=False, **common
    )
    store = InMemoryVectorStore.from_texts([d.read_text() for d in docs], embeddings)
    # the retrieved handbook pages are fitted into 160 tokens: only their relevant sentences
    retriever = tokenomy_langchain.TokenomyBudgetRetriever(
        retriever=store.as_retriever(search_kwargs={"k": 2}),
        compressor=tokenomy_langchain.TokenomyContextCompressor(budget=160, compress="lexical"),
    )

    def join(docs: list) -> str:  # type: ignore[type-arg]
        return "\n\n".join(d.page_content for d in docs)

    llm = ChatOpenAI(model="gpt-4o-mini", stream_usage=True, **common)
    rag = (
        {"context": retriever | join, "question": RunnablePassthrough()}
        | ChatPromptTemplate.from_messages(
            [("system", policy + "\n\nHandbook excerpts:\n{context}"), ("human", "{question}")]
        )
        | llm
        | StrOutputParser()
    ).with_config(run_name="docs-qa")

    for user, question in USERS_QUESTIONS:
        with tokenomy_langchain.track(user=user, feature="docs-qa"):
            rag.invoke(question)
    with tokenomy_langchain.track(user="bob", feature="docs-qa"):
        "".join(rag.stream("Which plans include single sign-on?"))

    # The whole handbook as a system prompt: long enough (> 1,024 tokens) for provider caching.
    handbook = "\n\n".join(d.read_text() for d in [*docs, *docs])
    assistant = (
        ChatPromptTemplate.from_messages(
            [("system", policy + "\n\nThe full handbook:\n" + handbook), ("human", "{q}")]
        )
        | llm
        | StrOutputParser()
    ).with_config(run_name="handbook-assistant")
    for user, question in HANDBOOK_QUESTIONS:
        with tokenomy_langchain.track(user=user, feature="handbook-assistant"):
            assistant.invoke({"q": question})

    # Ticket triage on a reasoning model, through the Responses API.
    triage_llm = ChatOpenAI(model="gpt-5-mini", use_responses_api=True, **common)
    triage = (
        ChatPromptTemplate.from_messages(
            [("system", "Classify the ticket: billing, sync, sharing, api or security."), ("human", "{t}")]
        )
        | triage_llm
        | StrOutputParser()
    ).with_config(run_name="ticket-triage")
    for user, ticket in TICKETS:
        with tokenomy_langchain.track(user=user, feature="ticket-triage"):
            triage.invoke({"t": ticket})

    # An FAQ bot behind LangChain's LLM cache: the repeated question is a $0 cache hit.
    faq_llm = ChatOpenAI(model="gpt-4o-mini", cache=InMemoryCache(), **common)
    for user in ("judy", "mallory", "judy"):
        with tokenomy_langchain.track(user=user, feature="faq"):
            faq_llm.invoke("What does storage above the pooled allowance cost?")

    # tokenomy's response cache: repeats and rewordings answered for $0, tenants kept apart.
    from tokenomy_langchain._demo_cache import run_cache_demo

    run_cache_demo(sim_url)

    # Conversation memory: a long chat windowed and summarised by tokenomy (its own module).
    from tokenomy_langchain._demo_memory import run_memory_demo

    run_memory_demo(sim_url)

    # Budgets: a per-user daily budget refusing a call, a feature's budget downgrading a model.
    from tokenomy_langchain._demo_budget import run_budgets

    run_budgets(sim_url)

    # Cascade routing: ticket triage through a cheap model first, the strong one on a failed gate.
    from tokenomy_langchain._demo_routing import run_routing_demo

    run_routing_demo()

    # Provider discounts: a batch job at half price, prompt-cache breakpoints placed for Claude.
    from tokenomy_langchain._demo_discounts import run_discounts

    run_discounts(sim_url, docs, policy)
