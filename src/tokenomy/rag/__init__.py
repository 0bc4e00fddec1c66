"""RAG chunk budgeting: fit retrieved context into a token budget without losing the answer.

    from tokenomy.rag import Chunk, ChunkBudgeter

    budgeter = ChunkBudgeter(model="gpt-4o-mini", budget=512, min_score=0.2, order="edges")
    chosen = budgeter.select(question, [Chunk(text=t, score=s) for t, s in retrieved])
    prompt_context = chosen.joined()
    chosen.report.tokens_sent, chosen.report.dropped, chosen.report.saved_usd

Framework-free (the LangChain and LlamaIndex components live in the integrations). Importing
this package loads no tokenizer and no model.
"""

from __future__ import annotations

from tokenomy.rag._budget import ChunkBudget, ChunkBudgeter, Order, Packing, context_window
from tokenomy.rag._chunk import BudgetedChunks, Chunk, KeptChunk
from tokenomy.rag._embed import Embedder, MiniLMEmbedder, cosine
from tokenomy.rag._lexical import bm25_scores
from tokenomy.rag._report import DROP_REASONS, DropReason, RagReport, note_report
from tokenomy.rag._text import split_sentences

__all__ = [
    "DROP_REASONS",
    "BudgetedChunks",
    "Chunk",
    "ChunkBudget",
    "ChunkBudgeter",
    "DropReason",
    "Embedder",
    "KeptChunk",
    "MiniLMEmbedder",
    "Order",
    "Packing",
    "RagReport",
    "bm25_scores",
    "context_window",
    "cosine",
    "note_report",
    "split_sentences",
]
