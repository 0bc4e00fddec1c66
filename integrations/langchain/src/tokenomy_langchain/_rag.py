"""RAG chunk budgeting for LangChain: a document compressor and a retriever wrapper.

Both run :class:`tokenomy.ChunkBudgeter` over the retrieved documents: each document's
relevance is ``metadata[score_key]`` when the retriever put one there (``relevance_score`` is
what LangChain's rerankers and ``similarity_score_threshold`` search use), else its rank in
the retrieval (the first is best). Kept documents are copies whose ``page_content`` is what to
send (trimmed or compressed to sentences when the budgeter did so), with
``metadata["tokenomy_tokens"]`` and ``metadata["tokenomy_trimmed"]``. Inside
``tokenomy_langchain.track()`` (or ``tokenomy.track()``) the per-query report becomes the
``rag_*`` tags of the model calls recorded after it in the block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
    Callbacks,
)
from langchain_core.documents import BaseDocumentCompressor, Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from tokenomy import BudgetedChunks, Chunk, ChunkBudgeter

__all__ = ["TokenomyBudgetRetriever", "TokenomyContextCompressor"]


class TokenomyContextCompressor(BaseDocumentCompressor):
    """Fit retrieved documents into a token budget (usable in LangChain's
    ``ContextualCompressionRetriever`` and anywhere documents flow).

    ``TokenomyContextCompressor(model="gpt-4o-mini", budget=512, compress="lexical")`` builds
    the :class:`tokenomy.ChunkBudgeter` from keyword options; or pass ``budgeter=``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    budgeter: ChunkBudgeter
    score_key: str = "relevance_score"

    def __init__(
        self,
        budgeter: ChunkBudgeter | None = None,
        *,
        score_key: str = "relevance_score",
        **options: Any,
    ) -> None:
        if budgeter is None:
            budgeter = ChunkBudgeter(**options)
        elif options:
            raise TypeError("pass either budgeter= or ChunkBudgeter options, not both")
        fields: dict[str, Any] = {"budgeter": budgeter, "score_key": score_key}
        super().__init__(**fields)

    def budget(self, documents: Sequence[Document], query: str) -> BudgetedChunks:
        """The budgeter's full answer (kept chunks and report) for ``documents``."""
        n = len(documents)
        chunks = []
        for i, doc in enumerate(documents):
            raw = doc.metadata.get(self.score_key)
            score = float(raw) if isinstance(raw, int | float) else float(n - i)
            chunks.append(
                Chunk(text=doc.page_content, score=score, id=doc.id, position=i, metadata={"i": i})
            )
        return self.budgeter.select(query, chunks)

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """The documents to send for ``query``, in the budgeter's order."""
        chosen = self.budget(documents, query)
        out: list[Document] = []
        for kept in chosen.chunks:
            doc = documents[kept.chunk.metadata["i"]]
            metadata = {
                **doc.metadata,
                "tokenomy_tokens": kept.tokens,
                "tokenomy_trimmed": kept.trimmed,
            }
            out.append(Document(page_content=kept.text, metadata=metadata, id=doc.id))
        return out


class TokenomyBudgetRetriever(BaseRetriever):
    """A retriever that returns ``retriever``'s documents fitted into a token budget by
    ``compressor`` (a :class:`TokenomyContextCompressor`)::

        TokenomyBudgetRetriever(
            retriever=store.as_retriever(search_kwargs={"k": 8}),
            compressor=TokenomyContextCompressor(model="gpt-4o-mini", budget=400),
        )
    """

    retriever: BaseRetriever
    compressor: TokenomyContextCompressor

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        docs = self.retriever.invoke(query, config={"callbacks": run_manager.get_child()})
        return list(self.compressor.compress_documents(docs, query))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        docs = await self.retriever.ainvoke(query, config={"callbacks": run_manager.get_child()})
        return list(self.compressor.compress_documents(docs, query))
