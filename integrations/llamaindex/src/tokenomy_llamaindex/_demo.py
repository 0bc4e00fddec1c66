"""The LlamaIndex half of ``tokenomy demo`` (found through the ``tokenomy.demo`` entry point).

Needs ``llama-index-llms-openai`` and ``llama-index-embeddings-openai``
(``pip install 'tokenomy-llamaindex[demo]'``); the demo itself is the core's ``tokenomy demo``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI

__all__ = ["run"]

LLAMA_QUESTIONS = [
    ("heidi", "Which operating systems does the desktop client support?"),
    ("ivan", "How is data encrypted at rest?"),
]


def run(sim_url: str, docs: Sequence[Path], policy: str) -> None:
    """The LlamaIndex half: a query engine over the same documents, one query streamed."""
    from llama_index.core import Document, VectorStoreIndex

    import tokenomy_llamaindex

    common: dict[str, Any] = {"api_base": sim_url, "api_key": "sk-demo-offline"}
    # llama-index-llms-openai does not ask for usage on streams; this makes streamed calls carry
    # the provider's exact usage instead of a local estimate.
    llm = tokenomy_llamaindex.include_stream_usage(OpenAI(model="gpt-4o-mini", **common))
    embed = OpenAIEmbedding(model="text-embedding-3-small", **common)
    with tokenomy_llamaindex.track(user="system", feature="indexing"):
        index = VectorStoreIndex.from_documents(
            [Document(text=d.read_text(), metadata={"file": d.name}) for d in docs],
            embed_model=embed,
        )
    # the retrieved nodes are fitted into 160 tokens: only their relevant sentences
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
        "".join(response.response_gen)  # type: ignore[union-attr,arg-type]
    # the same question asked twice of an LLM behind tokenomy's response cache (LlamaIndex has
    # no LLM cache of its own): the second answer costs $0, its price reported as saved
    from llama_index.core.llms import ChatMessage

    from tokenomy.cache import LexicalFallbackEmbedder, ResponseCache

    cached = tokenomy_llamaindex.TokenomyLLM(
        llm, policies=[ResponseCache(embedder=LexicalFallbackEmbedder(), threshold=0.85)]
    )
    for user in ("ivan", "judy"):
        with tokenomy_llamaindex.track(user=user, feature="faq-cache"):
            cached.chat([ChatMessage(role="user", content="What is the Team plan's price?")])
