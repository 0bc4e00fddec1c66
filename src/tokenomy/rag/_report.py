"""``RagReport``: what budgeting one query's context kept, dropped and saved; and how it
reaches the ledger record of the model call that uses the context.

A report is noted on the innermost enclosing :func:`tokenomy.track` block (its tags): every
model call recorded later in that block carries the ``rag_*`` tags of the last query budgeted
there. Run one block per query (as a request handler usually does) and the retriever step and
the model call it feeds are joined in the ledger without further wiring.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

__all__ = ["DROP_REASONS", "DropReason", "RagReport", "note_report"]

DropReason = Literal["empty", "below_min_score", "duplicate", "over_budget"]
#: Why a chunk was not sent, in the order the budgeter's steps run.
DROP_REASONS: tuple[DropReason, ...] = ("empty", "below_min_score", "duplicate", "over_budget")


@dataclass(frozen=True, slots=True, kw_only=True)
class RagReport:
    """One query's budgeting, in numbers.

    ``tokens_retrieved`` counts every chunk given (for ``model``), ``tokens_sent`` what was
    kept (after trimming and compression, counted exactly); ``tokens_estimated`` is the part
    of ``tokens_retrieved`` estimated from length instead of tokenized (chunks compression
    did not consider: beyond ``ChunkBudgeter(pool=)``, or under ``min_score``; 0 otherwise); ``dropped`` maps each :data:`DROP_REASONS` entry to
    how many chunks it removed; ``trimmed`` counts kept chunks cut to fewer sentences.
    ``saved_usd`` is the input price of the tokens not sent on ``model`` (``None``: the model
    has no known price).
    """

    model: str
    budget: int
    chunks_retrieved: int
    chunks_sent: int
    tokens_retrieved: int
    tokens_sent: int
    trimmed: int = 0
    tokens_estimated: int = 0
    dropped: Mapping[str, int] = field(default_factory=dict)
    saved_usd: Decimal | None = None

    @property
    def tokens_saved(self) -> int:
        """Tokens retrieved but not sent."""
        return self.tokens_retrieved - self.tokens_sent

    def tags(self) -> dict[str, str]:
        """The report as ledger tags (``rag_*``, all strings)."""
        dropped = ",".join(f"{k}={v}" for k, v in self.dropped.items() if v)
        tags = {
            "rag_budget": str(self.budget),
            "rag_chunks_retrieved": str(self.chunks_retrieved),
            "rag_chunks_sent": str(self.chunks_sent),
            "rag_chunks_trimmed": str(self.trimmed),
            "rag_tokens_retrieved": str(self.tokens_retrieved),
            "rag_tokens_sent": str(self.tokens_sent),
            "rag_dropped": dropped or "none",
        }
        if self.tokens_estimated:
            tags["rag_tokens_estimated"] = str(self.tokens_estimated)
        if self.saved_usd is not None:
            tags["rag_saved_usd"] = str(self.saved_usd)
        return tags

    def to_dict(self) -> dict[str, object]:
        """The report as JSON-ready values (money as a string)."""
        return {
            "model": self.model,
            "budget": self.budget,
            "chunks_retrieved": self.chunks_retrieved,
            "chunks_sent": self.chunks_sent,
            "chunks_trimmed": self.trimmed,
            "tokens_retrieved": self.tokens_retrieved,
            "tokens_sent": self.tokens_sent,
            "tokens_estimated": self.tokens_estimated,
            "dropped": dict(self.dropped),
            "saved_usd": None if self.saved_usd is None else str(self.saved_usd),
        }


def note_report(report: RagReport) -> bool:
    """Put ``report``'s tags on the innermost enclosing :func:`tokenomy.track` block, so the
    model calls recorded after it in the block carry them; ``False`` outside every block.

    The block's tag dict is replaced, not changed in place, so a call being recorded at the
    same moment on another thread sees either the old tags or the new ones.
    """
    from tokenomy._tracking import current_tracker

    tracker = current_tracker()
    if tracker is None:
        return False
    tracker.tags = {**tracker.tags, **report.tags()}
    return True
