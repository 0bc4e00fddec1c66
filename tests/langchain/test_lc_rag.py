"""RAG chunk budgeting in LangChain: TokenomyContextCompressor and TokenomyBudgetRetriever in
a real RAG chain (OpenAIEmbeddings + InMemoryVectorStore + ChatOpenAI against the provider
simulator): the model call's record shows fewer input tokens and carries the rag_* report."""

from __future__ import annotations

from pathlib import Path

from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_openai import OpenAIEmbeddings
from lc_sim import openai_chat

import tokenomy_langchain
from tokenomy import CostRecord, MemoryLedger
from tokenomy.testing import ProviderSimulator
from tokenomy_langchain import TokenomyBudgetRetriever, TokenomyContextCompressor

DOCS = sorted((Path(__file__).resolve().parents[2] / "src" / "tokenomy" / "_demo" / "docs").glob("*.md"))
assert DOCS, "the demo handbook (src/tokenomy/_demo/docs) is missing"
QUESTION = "How long are deleted files kept on the Team plan?"


def _retriever(sim: ProviderSimulator) -> BaseRetriever:
    embeddings = OpenAIEmbeddings(
        model="text-embedding-3-small",
        base_url=sim.openai_base_url,
        api_key="test",  # type: ignore[arg-type]
        check_embedding_ctx_length=False,
    )
    store = InMemoryVectorStore.from_texts([d.read_text() for d in DOCS], embeddings)
    return store.as_retriever(search_kwargs={"k": 4})


def _chain(sim: ProviderSimulator, retriever: BaseRetriever):  # type: ignore[no-untyped-def]
    def join(docs: list[Document]) -> str:
        return "\n\n".join(d.page_content for d in docs)

    return (
        {"context": retriever | join, "question": RunnablePassthrough()}
        | ChatPromptTemplate.from_messages(
            [("system", "Answer from these excerpts:\n{context}"), ("human", "{question}")]
        )
        | openai_chat(sim)
        | StrOutputParser()
    )


def _chat_record(ledger: MemoryLedger) -> CostRecord:
    (record,) = [r for r in ledger.query() if r.kind == "chat"]
    return record


def test_budgeted_rag_chain_sends_fewer_input_tokens(
    provider_simulator: ProviderSimulator,
) -> None:
    """The same chain and question, with and without the budgeting retriever: the budgeted
    call is billed fewer input tokens, stays within budget plus the prompt, and its ledger
    record carries the report (tokens retrieved and sent, chunks dropped, $ saved)."""
    retriever = _retriever(provider_simulator)
    plain, budgeted = MemoryLedger(), MemoryLedger()
    with tokenomy_langchain.track(ledger=plain, user="ann"):
        _chain(provider_simulator, retriever).invoke(QUESTION)
    compressor = TokenomyContextCompressor(model="gpt-4o-mini", budget=120, compress="lexical")
    wrapped = TokenomyBudgetRetriever(retriever=retriever, compressor=compressor)
    with tokenomy_langchain.track(ledger=budgeted, user="ann"):
        _chain(provider_simulator, wrapped).invoke(QUESTION)

    before, after = _chat_record(plain), _chat_record(budgeted)
    billed = [c for c in provider_simulator.calls if c.api != "embeddings"]
    assert after.usage.input == billed[-1].usage.input  # the ledger holds what was billed
    assert after.usage.input < before.usage.input
    tags = after.tags
    assert tags["user"] == "ann"
    assert int(tags["rag_tokens_sent"]) <= 120 < int(tags["rag_tokens_retrieved"])
    assert int(tags["rag_chunks_retrieved"]) == 4
    assert before.usage.input - after.usage.input >= (
        int(tags["rag_tokens_retrieved"]) - int(tags["rag_tokens_sent"]) - 10
    )
    assert float(tags["rag_saved_usd"]) > 0
    assert "rag_tokens_sent" not in before.tags


def test_compressor_in_contextual_compression_retriever(
    provider_simulator: ProviderSimulator,
) -> None:
    """The compressor works inside LangChain's ContextualCompressionRetriever: budgeted
    documents, marked with their token counts, the relevant handbook part kept."""
    retriever = ContextualCompressionRetriever(
        base_compressor=TokenomyContextCompressor(budget=80, compress="lexical"),
        base_retriever=_retriever(provider_simulator),
    )
    docs = retriever.invoke(QUESTION)
    assert docs
    assert sum(d.metadata["tokenomy_tokens"] for d in docs) <= 80
    assert any("Team" in d.page_content for d in docs)


def test_scores_from_metadata_and_rank_order() -> None:
    """A document's metadata relevance_score is its relevance; without one the retrieval
    rank is used (the first document is best), and duplicates are dropped."""
    docs = [
        Document("Refunds are issued within 14 days.", metadata={"relevance_score": 0.2}),
        Document("Team plans keep deleted files for 90 days.", metadata={"relevance_score": 0.9}),
        Document("Team plans keep deleted files for 90 days.", metadata={"relevance_score": 0.5}),
    ]
    out = TokenomyContextCompressor(budget=500).compress_documents(docs, "deleted files")
    assert [d.page_content for d in out] == [docs[1].page_content, docs[0].page_content]
    assert out[0].metadata["relevance_score"] == 0.9
    ranked = [Document("alpha beta."), Document("gamma delta.")]
    out = TokenomyContextCompressor(budget=500, order="score").compress_documents(ranked, "zzz")
    assert [d.page_content for d in out] == ["alpha beta.", "gamma delta."]
