"""``BatchAPI``: one provider's batch endpoints, driven through its official SDK client.

The extension point of :mod:`tokenomy.batch`: submit items, say whether a batch has ended,
read its per-item outcomes, cancel it, and find a batch by the job key it was submitted with
(so a process that crashed between submitting and saving the batch id finds it again).
:class:`OpenAIBatchAPI` (Files + Batches) and :class:`AnthropicBatchAPI` (Message Batches)
take an ``openai.OpenAI`` / ``anthropic.Anthropic`` client; nothing here imports either SDK.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tokenomy.batch._wire import anthropic_params, openai_chat_body
from tokenomy.pipeline import ModelRequest

__all__ = ["AnthropicBatchAPI", "BatchAPI", "ItemOutcome", "OpenAIBatchAPI"]


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """One item of an ended batch: the answer's body, or why it failed."""

    custom_id: str
    body: Mapping[str, Any] | None
    error: str | None = None
    status: int | None = None


class BatchAPI(ABC):
    """One provider's batch endpoints (see the module docstring)."""

    #: the provider name records get (``"openai"``, ``"anthropic"``)
    provider: str = ""

    @abstractmethod
    def item_body(self, request: ModelRequest) -> dict[str, Any]:
        """The provider body one request becomes."""

    @abstractmethod
    def submit(self, items: Sequence[tuple[str, Mapping[str, Any]]], key: str) -> str:
        """Submit ``(custom_id, body)`` items as one batch labelled ``key``; its id."""

    @abstractmethod
    def ended(self, batch_id: str) -> bool:
        """Whether the batch has ended (completed, failed, expired or cancelled)."""

    @abstractmethod
    def outcomes(self, batch_id: str) -> Iterator[ItemOutcome]:
        """Every item of an ended batch (an item absent here is treated as failed)."""

    @abstractmethod
    def cancel(self, batch_id: str) -> None:
        """Ask the provider to cancel the batch."""

    def find(self, key: str) -> str | None:
        """The batch submitted with ``key``, if the provider can tell (default: cannot)."""
        return None


class OpenAIBatchAPI(BatchAPI):
    """OpenAI's Batch API through an ``openai.OpenAI`` client: the items go up as a JSONL
    file (``purpose="batch"``), the batch carries ``metadata={"tokenomy_key": key}``, results
    come from its output and error files."""

    provider = "openai"

    def __init__(self, client: Any, *, endpoint: str = "/v1/chat/completions") -> None:
        if endpoint != "/v1/chat/completions":
            raise ValueError("OpenAIBatchAPI supports endpoint='/v1/chat/completions' only")
        self.client = client
        self.endpoint = endpoint

    def item_body(self, request: ModelRequest) -> dict[str, Any]:
        return openai_chat_body(request)

    def submit(self, items: Sequence[tuple[str, Mapping[str, Any]]], key: str) -> str:
        lines = [
            json.dumps(
                {"custom_id": cid, "method": "POST", "url": self.endpoint, "body": body},
                separators=(",", ":"),
                ensure_ascii=False,
            )
            for cid, body in items
        ]
        data = ("\n".join(lines) + "\n").encode()
        file = self.client.files.create(file=(f"{key}.jsonl", data), purpose="batch")
        batch = self.client.batches.create(
            input_file_id=file.id,
            endpoint=self.endpoint,
            completion_window="24h",
            metadata={"tokenomy_key": key},
        )
        return str(batch.id)

    def ended(self, batch_id: str) -> bool:
        status = self.client.batches.retrieve(batch_id).status
        return status in ("completed", "failed", "expired", "cancelled")

    def outcomes(self, batch_id: str) -> Iterator[ItemOutcome]:
        batch = self.client.batches.retrieve(batch_id)
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            for line in self.client.files.content(file_id).text.splitlines():
                if line.strip():
                    yield _openai_outcome(json.loads(line))

    def cancel(self, batch_id: str) -> None:
        self.client.batches.cancel(batch_id)

    def find(self, key: str) -> str | None:
        for batch in self.client.batches.list(limit=100):
            if (batch.metadata or {}).get("tokenomy_key") == key:
                return str(batch.id)
        return None


def _openai_outcome(line: Mapping[str, Any]) -> ItemOutcome:
    cid = str(line.get("custom_id"))
    response = line.get("response") or {}
    status = response.get("status_code")
    body = response.get("body")
    if status == 200 and isinstance(body, Mapping):
        return ItemOutcome(cid, body, status=200)
    error = line.get("error") or (body or {}).get("error") or {}
    message = error.get("message") if isinstance(error, Mapping) else str(error)
    return ItemOutcome(cid, None, error=str(message or f"status {status}"), status=status)


class AnthropicBatchAPI(BatchAPI):
    """Anthropic's Message Batches through an ``anthropic.Anthropic`` client. Anthropic keeps
    no metadata on a batch, so :meth:`find` cannot recover a batch whose id was lost."""

    provider = "anthropic"

    def __init__(self, client: Any) -> None:
        self.client = client

    def item_body(self, request: ModelRequest) -> dict[str, Any]:
        return anthropic_params(request)

    def submit(self, items: Sequence[tuple[str, Mapping[str, Any]]], key: str) -> str:
        requests = [{"custom_id": cid, "params": dict(body)} for cid, body in items]
        return str(self.client.messages.batches.create(requests=requests).id)

    def ended(self, batch_id: str) -> bool:
        return bool(self.client.messages.batches.retrieve(batch_id).processing_status == "ended")

    def outcomes(self, batch_id: str) -> Iterator[ItemOutcome]:
        for row in self.client.messages.batches.results(batch_id):
            result = row.result
            if result.type == "succeeded":
                yield ItemOutcome(row.custom_id, result.message.model_dump(mode="json"), status=200)
            elif result.type == "errored":
                err = result.error.error
                yield ItemOutcome(row.custom_id, None, error=f"{err.type}: {err.message}")
            else:
                yield ItemOutcome(row.custom_id, None, error=str(result.type))

    def cancel(self, batch_id: str) -> None:
        self.client.messages.batches.cancel(batch_id)
