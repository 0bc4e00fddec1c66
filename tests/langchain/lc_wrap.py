"""Helpers of the wrapper tests: a handler that notes model-run starts, and the no-double-record
setup (a TokenomyCallbackHandler attached AND a track() block around the calls)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from tokenomy import CostRecord, LedgerStore


class RunStarts(BaseCallbackHandler):
    """Notes every chat-model run start: (run id, parent run id, invocation _type)."""

    def __init__(self) -> None:
        self.starts: list[tuple[UUID, UUID | None, str | None]] = []
        self.tokens: list[tuple[UUID, str]] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        params = kwargs.get("invocation_params") or {}
        self.starts.append((kwargs["run_id"], kwargs.get("parent_run_id"), params.get("_type")))

    def on_llm_new_token(self, token: Any, **kwargs: Any) -> None:
        self.tokens.append((kwargs["run_id"], str(token)))

    def text_of(self, run_id: UUID) -> str:
        """The tokens streamed to run ``run_id``, joined."""
        return "".join(t for r, t in self.tokens if r == run_id)


def records(ledger: LedgerStore) -> list[CostRecord]:
    """The ledger's records, oldest first."""
    return sorted(ledger.query(), key=lambda r: r.timestamp)
