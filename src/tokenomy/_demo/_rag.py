"""The demo's RAG budgeting summary: what fitting retrieved context into a budget saved."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from tokenomy.ledger import CostRecord


def rag_savings(records: Iterable[CostRecord]) -> str:
    """One line from the ``rag_*`` tags the chunk budgeter put on the calls it fed: queries
    budgeted, context tokens retrieved and sent, chunks dropped or trimmed, $ saved."""
    queries = retrieved = sent = trimmed = 0
    saved = Decimal(0)
    dropped: dict[str, int] = {}
    for r in records:
        tags = r.tags
        if "rag_tokens_sent" not in tags:
            continue
        queries += 1
        retrieved += int(tags["rag_tokens_retrieved"])
        sent += int(tags["rag_tokens_sent"])
        trimmed += int(tags.get("rag_chunks_trimmed", "0"))
        saved += Decimal(tags.get("rag_saved_usd", "0"))
        for part in tags.get("rag_dropped", "none").split(","):
            if "=" in part:
                reason, n = part.split("=")
                dropped[reason] = dropped.get(reason, 0) + int(n)
    if not queries:
        return "RAG budgeting: no budgeted queries."
    why = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in dropped.items()) or "none"
    return (
        f"RAG budgeting: {queries} queries sent {sent:,} of {retrieved:,} retrieved context "
        f"tokens ({1 - sent / retrieved:.0%} fewer; chunks trimmed to their relevant sentences: "
        f"{trimmed}, dropped: {why}), saving ${saved:.6f} of input"
    )
