"""The tokenomy demo: a small support assistant, fully offline, with a cost report per run.

What runs (no API key, no network: a local provider simulator answers on 127.0.0.1):

* LangChain: an LCEL RAG chain over the Northwind handbook (``examples/docs``) with the real
  ``langchain-openai`` clients, for several users, its retrieved context fitted into a token
  budget (``TokenomyBudgetRetriever``); a streamed answer; a handbook assistant whose
  long system prompt gets provider-cached on repeat calls; a ticket-triage step on a reasoning
  model through the Responses API; an FAQ bot behind LangChain's LLM cache (a hit costs $0 and
  is reported as saved).
* LlamaIndex: a ``VectorStoreIndex`` query engine over the same documents with the real
  ``llama-index-llms-openai`` / ``OpenAIEmbedding`` clients, one query streamed, its nodes
  budgeted the same way (``TokenomyNodePostprocessor``); the report says what that saved.

Every call is priced from the bundled price snapshot, tagged with user and feature, written to
a SQLite ledger (``.tokenomy/demo.sqlite``, or ``--ledger PATH``) and summarised in the report
printed at the end. Then try ``tokenomy report --ledger .tokenomy/demo.sqlite --by user``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = sorted((HERE / "docs").glob("*.md"))

SUPPORT_POLICY = """You are Northwind Cloud Storage's support assistant. Answer from the handbook
excerpts you are given; if they do not contain the answer, say so and suggest contacting support.
Quote plan names and limits exactly as the handbook states them. Keep answers under 120 words."""

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
LLAMA_QUESTIONS = [
    ("heidi", "Which operating systems does the desktop client support?"),
    ("ivan", "How is data encrypted at rest?"),
]


def answer_rule(request: object) -> str:
    """The simulated model's deterministic answer: the first handbook sentence that shares the
    most words with the question (a stand-in for a real model, good enough to read)."""
    from tokenomy.testing import SimRequest

    assert isinstance(request, SimRequest)
    question = (request.last_user_text or "").lower()
    words = {w.strip("?.,") for w in question.split() if len(w) > 3}
    best, score = "I could not find that in the handbook; please contact support.", 0
    for doc in DOCS:
        for sentence in doc.read_text().replace("\n", " ").split(". "):
            hits = sum(1 for w in words if w in sentence.lower())
            if hits > score:
                best, score = sentence.strip().rstrip(".") + ".", hits
    return best


def run_langchain(sim_url: str) -> None:
    """The LangChain half: RAG chain, streaming, cached prompt prefix, reasoning, LLM cache."""
    from langchain_core.caches import InMemoryCache
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough
    from langchain_core.vectorstores import InMemoryVectorStore
    from langchain_openai import ChatOpenAI, OpenAIEmbeddings

    import tokenomy_langchain

    common = {"base_url": sim_url, "api_key": "sk-demo-offline"}
    embeddings = OpenAIEmbeddings(
        model="text-embedding-3-small", check_embedding_ctx_length=False, **common
    )
    store = InMemoryVectorStore.from_texts([d.read_text() for d in DOCS], embeddings)
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
            [("system", SUPPORT_POLICY + "\n\nHandbook excerpts:\n{context}"), ("human", "{question}")]
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
    handbook = "\n\n".join(d.read_text() for d in DOCS * 2)
    assistant = (
        ChatPromptTemplate.from_messages(
            [("system", SUPPORT_POLICY + "\n\nThe full handbook:\n" + handbook), ("human", "{q}")]
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


def run_llamaindex(sim_url: str) -> None:
    """The LlamaIndex half: a query engine over the same documents, one query streamed."""
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.embeddings.openai import OpenAIEmbedding
    from llama_index.llms.openai import OpenAI

    import tokenomy_llamaindex

    common = {"api_base": sim_url, "api_key": "sk-demo-offline"}
    # llama-index-llms-openai does not ask for usage on streams; this makes streamed calls carry
    # the provider's exact usage instead of a local estimate.
    llm = tokenomy_llamaindex.include_stream_usage(OpenAI(model="gpt-4o-mini", **common))
    embed = OpenAIEmbedding(model="text-embedding-3-small", **common)
    with tokenomy_llamaindex.track(user="system", feature="indexing"):
        index = VectorStoreIndex.from_documents(
            [Document(text=d.read_text(), metadata={"file": d.name}) for d in DOCS],
            embed_model=embed,
        )
    budget = tokenomy_llamaindex.TokenomyNodePostprocessor(budget=160, compress="lexical")
    engine = index.as_query_engine(llm=llm, similarity_top_k=2, node_postprocessors=[budget])
    for user, question in LLAMA_QUESTIONS:
        with tokenomy_llamaindex.track(user=user, feature="support-search"):
            engine.query(question)
    streaming = index.as_query_engine(
        llm=llm, similarity_top_k=2, streaming=True, node_postprocessors=[budget]
    )
    with tokenomy_llamaindex.track(user="heidi", feature="support-search"):
        response = streaming.query("How long do shared links last?")
        "".join(response.response_gen)  # type: ignore[union-attr]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ledger", default=str(Path(".tokenomy") / "demo.sqlite"))
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)

    from _demo_rag import rag_savings

    import tokenomy
    from tokenomy.testing import ProviderSimulator

    ledger_path = Path(args.ledger)
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(ledger_path) + suffix).unlink(missing_ok=True)
    ledger = tokenomy.SQLiteLedger(ledger_path)
    tokenomy.set_default_ledger(ledger)

    with ProviderSimulator(
        answer=answer_rule,
        reasoning_tokens={"gpt-5*": 96},
        model_aliases={"gpt-4o-mini": "gpt-4o-mini-2024-07-18"},
    ) as sim:
        with tokenomy.track(app="northwind-support"):
            run_langchain(sim.openai_base_url)
            run_llamaindex(sim.openai_base_url)
        simulated_calls = len(sim.calls)
    ledger.flush()

    report = tokenomy.Report.from_ledger(ledger)
    if args.format == "json":
        print(report.to_json(by=("feature",)))
    else:
        from rich.console import Console

        console = Console()
        if console.width < 150:
            console = Console(width=150)
        report.render(console, by=("feature", "user"), runs=6, top=5)
        hits = sum(1 for r in report.records if r.is_cache_hit)
        console.print(rag_savings(report.records))
        console.print(
            f"\n[bold]{len(report)}[/bold] calls recorded, {hits} of them LangChain cache hits; the "
            f"provider simulator answered {simulated_calls} requests (LangChain's embedding calls "
            f"have no callbacks, so they are not in the ledger). Ledger: [cyan]{ledger_path}[/cyan]\n"
            f"Next: [green]tokenomy report --ledger {ledger_path} --by user[/green]  ·  "
            f"[green]tokenomy export --ledger {ledger_path}[/green]"
        )
    ledger.close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    sys.exit(main())
