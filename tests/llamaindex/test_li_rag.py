"""RAG chunk budgeting in LlamaIndex: TokenomyNodePostprocessor in a real query engine
(OpenAIEmbedding + VectorStoreIndex + OpenAI LLM against the provider simulator): the LLM
call's record shows fewer input tokens and carries the rag_* report."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.schema import NodeWithScore, TextNode
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI

import tokenomy_llamaindex as tli
from tokenomy import ChunkBudgeter, CostRecord, MemoryLedger
from tokenomy.testing import ProviderSimulator
from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401
from tokenomy_llamaindex import TokenomyNodePostprocessor

DOCS = sorted((Path(__file__).resolve().parents[2] / "src" / "tokenomy" / "_demo" / "docs").glob("*.md"))
assert DOCS, "the demo handbook (src/tokenomy/_demo/docs) is missing"
QUESTION = "How is data encrypted at rest?"
KEY = "sk-simulator-test"


@pytest.fixture
def index(provider_simulator: ProviderSimulator) -> VectorStoreIndex:  # noqa: F811
    """The handbook indexed with the real OpenAIEmbedding client on the simulator."""
    embed = OpenAIEmbedding(
        model="text-embedding-3-small", api_base=provider_simulator.openai_base_url, api_key=KEY
    )
    return VectorStoreIndex.from_documents(
        [Document(text=d.read_text()) for d in DOCS], embed_model=embed
    )


def _llm(sim: ProviderSimulator) -> OpenAI:
    return tli.include_stream_usage(
        OpenAI(model="gpt-4o-mini", api_base=sim.openai_base_url, api_key=KEY, max_retries=0)
    )


def _llm_record(ledger: MemoryLedger) -> CostRecord:
    (record,) = [r for r in ledger.query() if r.kind != "embedding"]
    return record


@pytest.mark.parametrize("streaming", [False, True])
def test_query_engine_with_the_postprocessor_sends_fewer_input_tokens(
    index: VectorStoreIndex,
    provider_simulator: ProviderSimulator,  # noqa: F811
    streaming: bool,
) -> None:
    """The same query engine and question, with and without the postprocessor: the budgeted
    LLM call is billed fewer input tokens (the ledger says so, matching the simulator) and its
    record carries the report."""
    llm = _llm(provider_simulator)
    plain, budgeted = MemoryLedger(), MemoryLedger()
    engine = index.as_query_engine(llm=llm, similarity_top_k=6, streaming=streaming)
    with tli.track(ledger=plain, feature="search"):
        response = engine.query(QUESTION)
        if streaming:
            "".join(response.response_gen)  # type: ignore[union-attr]
    post = TokenomyNodePostprocessor(model="gpt-4o-mini", budget=100, compress="lexical")
    engine = index.as_query_engine(
        llm=llm, similarity_top_k=6, streaming=streaming, node_postprocessors=[post]
    )
    with tli.track(ledger=budgeted, feature="search"):
        response = engine.query(QUESTION)
        if streaming:
            "".join(response.response_gen)  # type: ignore[union-attr]

    before, after = _llm_record(plain), _llm_record(budgeted)
    chat_calls = [c for c in provider_simulator.calls if c.api != "embeddings"]
    assert after.usage.input == chat_calls[-1].usage.input
    assert after.usage.input < before.usage.input
    tags = after.tags
    assert tags["feature"] == "search"
    assert int(tags["rag_tokens_sent"]) <= 100 < int(tags["rag_tokens_retrieved"])
    assert tags["rag_chunks_retrieved"] == "6"
    assert float(tags["rag_saved_usd"]) > 0
    assert "rag_tokens_sent" not in before.tags
    assert any("encrypt" in n.node.get_content().lower() for n in response.source_nodes)


def test_scores_ranks_and_trimmed_copies() -> None:
    """Node scores are the relevance (rank when absent); a trimmed node is a copy holding the
    text to send and the original node is untouched; a duplicate node is dropped."""
    long = TextNode(
        text="Intro sentence about nothing. Data at rest is encrypted with AES-256. "
        "Keys rotate yearly. Another filler sentence follows here."
    )
    dup = TextNode(text="Backups run nightly.")
    nodes = [
        NodeWithScore(node=dup, score=0.3),
        NodeWithScore(node=long, score=0.9),
        NodeWithScore(node=TextNode(text="Backups run nightly."), score=0.2),
    ]
    post = TokenomyNodePostprocessor(budgeter=ChunkBudgeter(budget=16))
    out = post.postprocess_nodes(nodes, query_str="How is data at rest encrypted?")
    assert out[0].score == 0.9
    assert "AES-256" in out[0].node.get_content()
    assert out[0].node is not long and long.text.startswith("Intro")
    assert len(out) <= 2
    ranked = TokenomyNodePostprocessor(budget=500).postprocess_nodes(
        [NodeWithScore(node=TextNode(text="a b c."), score=None)] * 1
        + [NodeWithScore(node=TextNode(text="d e f."), score=None)],
        query_str="zzz",
    )
    assert [n.node.get_content() for n in ranked] == ["a b c.", "d e f."]
    with pytest.raises(TypeError):
        TokenomyNodePostprocessor(budgeter=ChunkBudgeter(), budget=5)
