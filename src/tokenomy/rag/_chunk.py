"""What the budgeter takes (``Chunk``) and gives back (``KeptChunk``, ``BudgetedChunks``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenomy.rag._report import RagReport

__all__ = ["BudgetedChunks", "Chunk", "KeptChunk"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    """One retrieved chunk.

    * ``score``: its relevance to the query, higher is better, on any scale the retriever
      uses (``None``: unknown; when any chunk has none, the budgeter scores them all with
      BM25 against the query, since scales cannot be mixed).
    * ``position``: where it sits in its source, for ``order="source"`` (default: its index
      in the list given).
    * ``embedding``: its vector, when the retriever has one (near-duplicates are then found
      by cosine similarity instead of shared shingles).
    * ``id`` and ``metadata`` are carried through untouched (the integrations keep their
      framework object in ``metadata``).
    """

    text: str
    score: float | None = None
    id: str | None = None
    position: int | None = None
    embedding: Sequence[float] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeptChunk:
    """A chunk chosen to be sent: ``text`` is what to send (``trimmed``: fewer sentences
    than the original, at sentence boundaries), ``tokens`` its count for the target model,
    ``index`` the chunk's index in the list given, ``score`` the relevance used."""

    chunk: Chunk
    text: str
    tokens: int
    index: int
    score: float
    trimmed: bool = False


@dataclass(frozen=True, slots=True)
class BudgetedChunks:
    """The budgeter's answer for one query: the chunks to send, in the order to send them,
    and the :class:`RagReport` of what was kept and dropped."""

    chunks: tuple[KeptChunk, ...]
    report: RagReport

    @property
    def texts(self) -> list[str]:
        """The texts to send, in order."""
        return [k.text for k in self.chunks]

    def joined(self, separator: str = "\n\n") -> str:
        """The texts to send as one context string."""
        return separator.join(k.text for k in self.chunks)
