"""RAG chunk budgeting for LlamaIndex: a node postprocessor.

``index.as_query_engine(node_postprocessors=[TokenomyNodePostprocessor(model="gpt-4o-mini",
budget=512)])`` (also for retrievers and chat engines) fits the retrieved nodes into a token
budget with :class:`tokenomy.ChunkBudgeter`. A node's relevance is its retrieval score, else its
rank (the first is best); its embedding, when the node carries one, is used to find
near-duplicates. A kept node that was trimmed or compressed is a copy holding only the text to
send. Inside ``tokenomy_llamaindex.track()`` (or ``tokenomy.track()``) the per-query report
becomes the ``rag_*`` tags of the LLM calls recorded after it in the block.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.bridge.pydantic import Field
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from tokenomy import BudgetedChunks, Chunk, ChunkBudgeter

__all__ = ["TokenomyNodePostprocessor"]


class TokenomyNodePostprocessor(BaseNodePostprocessor):
    """Fit retrieved nodes into a token budget (see the module docstring).

    ``TokenomyNodePostprocessor(model="gpt-4o-mini", budget=512, compress="lexical")`` builds
    the budgeter from keyword options; or pass ``budgeter=``.
    """

    budgeter: ChunkBudgeter = Field(description="the tokenomy.ChunkBudgeter doing the work")

    def __init__(self, budgeter: ChunkBudgeter | None = None, **options: Any) -> None:
        if budgeter is None:
            budgeter = ChunkBudgeter(**options)
        elif options:
            raise TypeError("pass either budgeter= or ChunkBudgeter options, not both")
        fields: dict[str, Any] = {"budgeter": budgeter}
        super().__init__(**fields)

    @classmethod
    def class_name(cls) -> str:
        return "TokenomyNodePostprocessor"

    def budget(self, nodes: list[NodeWithScore], query: str) -> BudgetedChunks:
        """The budgeter's full answer (kept chunks and report) for ``nodes``."""
        n = len(nodes)
        chunks = [
            Chunk(
                text=item.node.get_content(metadata_mode=MetadataMode.NONE),
                score=float(item.score) if item.score is not None else float(n - i),
                id=item.node.node_id,
                position=i,
                embedding=item.node.embedding,
                metadata={"i": i},
            )
            for i, item in enumerate(nodes)
        ]
        return self.budgeter.select(query, chunks)

    def _postprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        query = query_bundle.query_str if query_bundle is not None else ""
        chosen = self.budget(nodes, query)
        out: list[NodeWithScore] = []
        for kept in chosen.chunks:
            item = nodes[kept.chunk.metadata["i"]]
            node = item.node
            if kept.trimmed:
                node = node.model_copy()
                node.set_content(kept.text)
            out.append(NodeWithScore(node=node, score=item.score))
        return out
