"""``LlamaIndexEmbedder``: any LlamaIndex embedding model for tokenomy's semantic cache.

``TokenomyLLM(llm, policies=[ResponseCache(embedder=LlamaIndexEmbedder(embed_model))])``
serves ``chat``/``complete``, their streams and async forms from the cache (LlamaIndex has no
LLM cache of its own).
"""

from __future__ import annotations

from collections.abc import Sequence

from llama_index.core.base.embeddings.base import BaseEmbedding

from tokenomy.rag import Embedder

__all__ = ["LlamaIndexEmbedder"]


class LlamaIndexEmbedder(Embedder):
    """A LlamaIndex ``BaseEmbedding`` as a :class:`tokenomy.rag.Embedder`: texts go to
    ``get_text_embedding_batch`` (the model's own batching)."""

    def __init__(self, embed_model: BaseEmbedding) -> None:
        self.embed_model = embed_model

    def __repr__(self) -> str:
        return f"LlamaIndexEmbedder({type(self.embed_model).__name__})"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.embed_model.get_text_embedding_batch(list(texts))
        return [list(map(float, v)) for v in vectors]
