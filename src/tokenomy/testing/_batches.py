"""Simulated batch APIs: OpenAI's Files + Batches and Anthropic's Message Batches.

OpenAI: ``POST /v1/files`` (multipart, ``purpose=batch``), ``GET /v1/files/{id}``,
``GET /v1/files/{id}/content``, ``DELETE /v1/files/{id}``; ``POST /v1/batches``,
``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``, ``GET /v1/batches``. A batch's
items are answered when it completes, each through the same endpoint code as a direct call
(``/v1/chat/completions``, ``/v1/responses``, ``/v1/embeddings``); the answers go to an output
file, failed items to an error file (``response.status_code`` 500 with the error body).

Anthropic: ``POST /v1/messages/batches``, ``GET /v1/messages/batches/{id}``,
``GET /v1/messages/batches/{id}/results`` (JSONL, ``succeeded`` / ``errored`` / ``canceled``),
``POST /v1/messages/batches/{id}/cancel``, ``GET /v1/messages/batches``.

A batch completes ``batch_delay`` seconds (on the simulator's clock) after it was created,
when it is next looked at. :meth:`BatchService.fail_items` injects per-item failures.
Every answered item is a :class:`SimCall` with ``batch_id`` and ``custom_id`` set.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from tokenomy.testing._anthropic import handle_messages
from tokenomy.testing._embeddings import handle_embeddings
from tokenomy.testing._generate import stable_id
from tokenomy.testing._openai_chat import handle_chat
from tokenomy.testing._openai_responses import handle_responses
from tokenomy.testing._records import SimCall
from tokenomy.testing._request import SimRequest
from tokenomy.testing._server import Exchange
from tokenomy.testing._wire import EndpointError, Reply, dumps, error_body

if TYPE_CHECKING:
    from tokenomy.testing._simulator import ProviderSimulator

__all__ = ["BatchItemFaults", "BatchService"]

_OPENAI_ENDPOINTS: dict[str, tuple[str, Callable[..., Reply]]] = {
    "/v1/chat/completions": ("chat.completions", handle_chat),
    "/v1/responses": ("responses", handle_responses),
    "/v1/embeddings": ("embeddings", handle_embeddings),
}


@dataclass
class BatchItemFaults:
    """Per-item failures injected into batches: an item fails when the hash of its
    ``custom_id`` and ``seed`` falls under ``rate`` (or its id is in ``custom_ids``), at most
    ``times`` times per ``custom_id`` (``None``: always). ``failed`` counts the failures by id."""

    rate: float = 0.0
    custom_ids: frozenset[str] = frozenset()
    times: int | None = 1
    seed: int = 0
    status: int = 500
    message: str = "The server had an error processing this batch item (simulated)."
    failed: dict[str, int] = field(default_factory=dict)

    def take(self, custom_id: str) -> bool:
        chosen = custom_id in self.custom_ids
        if not chosen and self.rate > 0:
            digest = hashlib.sha256(f"{self.seed}\0{custom_id}".encode()).digest()
            chosen = int.from_bytes(digest[:8], "big") / 2**64 < self.rate
        if not chosen:
            return False
        done = self.failed.get(custom_id, 0)
        if self.times is not None and done >= self.times:
            return False
        self.failed[custom_id] = done + 1
        return True

    @property
    def hits(self) -> int:
        """Item failures served so far."""
        return sum(self.failed.values())


@dataclass
class _Batch:
    id: str
    provider: str
    endpoint: str
    items: list[dict[str, Any]]
    created: float  # simulator clock
    created_at: int  # wall clock, seconds
    input_file_id: str | None = None
    metadata: dict[str, Any] | None = None
    status: str = "in_progress"
    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    output_file_id: str | None = None
    error_file_id: str | None = None
    ended_at: int | None = None
    cancelled_at: int | None = None


class BatchService:
    """The batch endpoints of one simulator (thread-safe)."""

    def __init__(self, sim: ProviderSimulator, clock: Callable[[], float], delay: float) -> None:
        self._sim = sim
        self.clock = clock
        self.delay = delay
        self._lock = threading.RLock()
        self._files: dict[str, tuple[str, str, bytes, int]] = {}  # id -> purpose, name, data, at
        self._batches: dict[str, _Batch] = {}
        self._faults: list[BatchItemFaults] = []
        self._count = 0

    # -- configuration ----------------------------------------------------------------

    def fail_items(
        self,
        *,
        rate: float = 0.0,
        custom_ids: Iterable[str] = (),
        times: int | None = 1,
        seed: int = 0,
        status: int = 500,
    ) -> BatchItemFaults:
        faults = BatchItemFaults(
            rate=rate, custom_ids=frozenset(custom_ids), times=times, seed=seed, status=status
        )
        with self._lock:
            self._faults.append(faults)
        return faults

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
            self._batches.clear()
            self._faults.clear()

    @property
    def batches(self) -> list[str]:
        with self._lock:
            return list(self._batches)

    # -- routing ---------------------------------------------------------------------------

    @staticmethod
    def serves(path: str) -> bool:
        norm = path if path.startswith("/v1/") else "/v1" + path
        return (
            norm == "/v1/files"
            or norm.startswith("/v1/files/")
            or norm == "/v1/batches"
            or norm.startswith("/v1/batches/")
            or norm == "/v1/messages/batches"
            or norm.startswith("/v1/messages/batches/")
        )

    def respond(self, exchange: Exchange) -> None:
        path = exchange.path if exchange.path.startswith("/v1/") else "/v1" + exchange.path
        raw = exchange.read_body()
        provider = "anthropic" if path.startswith("/v1/messages/") else "openai"
        body: Any = None
        if raw and "multipart/form-data" not in exchange.headers.get("content-type", ""):
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        parts = path.strip("/").split("/")
        api = "files" if parts[1] == "files" else "batches"
        request = self._sim._new_request(
            method=exchange.method,
            path=path,
            headers={
                k: v for k, v in exchange.headers.items() if "key" not in k and "auth" not in k
            },
            body=body,
            provider=provider,
            api=api,
            model=None,
            stream=False,
            fault=None,
        )
        rid = "req_" + stable_id("", self._sim._context.salt, request.index, length=24)
        headers = {"request-id" if provider == "anthropic" else "x-request-id": rid}
        try:
            status, payload = self._dispatch(exchange, provider, parts, raw, body)
        except EndpointError as exc:
            err = error_body(provider, exc.status, exc.message, request_id=rid, param=exc.param)
            exchange.send(exc.status, dumps(err), {**headers, "Content-Type": "application/json"})
            return
        except Exception as exc:
            self._sim._on_error(exc)
            msg = f"tokenomy simulator: the batch endpoint failed with {type(exc).__name__}: {exc}"
            err = error_body(provider, 500, msg, request_id=rid)
            exchange.send(500, dumps(err), {**headers, "Content-Type": "application/json"})
            return
        if isinstance(payload, bytes):
            exchange.send(status, payload, {**headers, "Content-Type": "application/binary"})
        else:
            exchange.send(status, dumps(payload), {**headers, "Content-Type": "application/json"})

    def _dispatch(
        self, exchange: Exchange, provider: str, parts: list[str], raw: bytes, body: Any
    ) -> tuple[int, Any]:
        method = exchange.method
        if provider == "anthropic":  # v1 messages batches [id] [results|cancel]
            rest = parts[3:]
            if method == "POST" and not rest:
                return 200, self._anthropic_create(body)
            if method == "GET" and not rest:
                return 200, self._anthropic_list(exchange)
            batch = self._get(rest[0], "anthropic")
            if method == "GET" and len(rest) == 1:
                return 200, self._anthropic_object(batch, exchange)
            if method == "GET" and rest[1:] == ["results"]:
                return 200, self._anthropic_results(batch)
            if method == "POST" and rest[1:] == ["cancel"]:
                self._cancel(batch)
                return 200, self._anthropic_object(batch, exchange)
            if method == "DELETE" and len(rest) == 1:
                with self._lock:
                    self._batches.pop(batch.id, None)
                return 200, {"id": batch.id, "type": "message_batch_deleted"}
        elif parts[1] == "files":
            rest = parts[2:]
            if method == "POST" and not rest:
                return 200, self._upload(exchange, raw)
            if not rest:
                raise EndpointError(405, "listing files is not simulated")
            file = self._files.get(rest[0])
            if file is None:
                raise EndpointError(404, f"No such File object: {rest[0]}")
            if method == "GET" and len(rest) == 1:
                return 200, self._file_object(rest[0])
            if method == "GET" and rest[1:] == ["content"]:
                return 200, file[2]
            if method == "DELETE" and len(rest) == 1:
                with self._lock:
                    self._files.pop(rest[0], None)
                return 200, {"id": rest[0], "object": "file", "deleted": True}
        else:  # v1 batches [id] [cancel]
            rest = parts[2:]
            if method == "POST" and not rest:
                return 200, self._openai_create(body)
            if method == "GET" and not rest:
                return 200, self._openai_list(exchange.query)
            batch = self._get(rest[0], "openai")
            if method == "GET" and len(rest) == 1:
                return 200, self._openai_object(batch)
            if method == "POST" and rest[1:] == ["cancel"]:
                self._cancel(batch)
                return 200, self._openai_object(batch)
        raise EndpointError(404, f"Unknown request URL: {method} /{'/'.join(parts)}")

    # -- files -------------------------------------------------------------------------------

    def _upload(self, exchange: Exchange, raw: bytes) -> dict[str, Any]:
        ctype = exchange.headers.get("content-type", "")
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw
        )
        purpose, name, data = "batch", "batch.jsonl", b""
        for part in message.iter_parts():
            field_name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            payload = payload if isinstance(payload, bytes) else b""
            if field_name == "purpose":
                purpose = payload.decode()
            elif field_name == "file":
                data = payload
                name = str(part.get_filename() or name)
        return self._store_file(purpose, name, data)

    def _store_file(self, purpose: str, name: str, data: bytes) -> dict[str, Any]:
        with self._lock:
            self._count += 1
            file_id = "file-" + stable_id("", self._sim._context.salt, "file", self._count)
            self._files[file_id] = (purpose, name, data, int(time.time()))
        return self._file_object(file_id)

    def _file_object(self, file_id: str) -> dict[str, Any]:
        purpose, name, data, at = self._files[file_id]
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": at,
            "filename": name,
            "purpose": purpose,
            "status": "processed",
        }

    # -- creating ----------------------------------------------------------------------------

    def _new_batch(self, prefix: str, provider: str, endpoint: str, items: list[Any]) -> _Batch:
        with self._lock:
            self._count += 1
            batch_id = prefix + stable_id("", self._sim._context.salt, "batch", self._count)
            batch = _Batch(
                id=batch_id,
                provider=provider,
                endpoint=endpoint,
                items=items,
                created=self.clock(),
                created_at=int(time.time()),
            )
            self._batches[batch_id] = batch
        return batch

    def _openai_create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise EndpointError(400, "The request body must be a JSON object.")
        endpoint = body.get("endpoint")
        if endpoint not in _OPENAI_ENDPOINTS:
            raise EndpointError(400, f"Invalid endpoint: {endpoint!r}", param="endpoint")
        file = self._files.get(str(body.get("input_file_id")))
        if file is None:
            raise EndpointError(400, "input_file_id: no such file", param="input_file_id")
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for n, line in enumerate(file[2].decode().splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise EndpointError(400, f"line {n} of the input file is not JSON") from exc
            cid = item.get("custom_id") if isinstance(item, dict) else None
            if not isinstance(cid, str) or cid in seen:
                raise EndpointError(400, f"line {n}: a unique custom_id is required")
            if item.get("url") != endpoint or not isinstance(item.get("body"), dict):
                raise EndpointError(400, f"line {n}: url must be {endpoint} with a JSON body")
            seen.add(cid)
            items.append(item)
        batch = self._new_batch("batch_", "openai", str(endpoint), items)
        batch.input_file_id = str(body.get("input_file_id"))
        batch.metadata = body.get("metadata")
        return self._openai_object(batch)

    def _anthropic_create(self, body: Any) -> dict[str, Any]:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise EndpointError(400, "requests: at least one request is required")
        seen: set[str] = set()
        for item in requests:
            cid = item.get("custom_id") if isinstance(item, dict) else None
            if not isinstance(cid, str) or cid in seen or not isinstance(item.get("params"), dict):
                raise EndpointError(400, "each request needs a unique custom_id and params")
            seen.add(cid)
        batch = self._new_batch("msgbatch_", "anthropic", "/v1/messages", list(requests))
        return self._anthropic_object(batch, None)

    # -- completing --------------------------------------------------------------------------

    def _get(self, batch_id: str, provider: str) -> _Batch:
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None or batch.provider != provider:
            raise EndpointError(404, f"No batch found with id '{batch_id}'.")
        self._advance(batch)
        return batch

    def _advance(self, batch: _Batch) -> None:
        with self._lock:
            if batch.status != "in_progress" or self.clock() < batch.created + self.delay:
                return
            for item in batch.items:
                self._answer(batch, item)
            batch.status = "completed"
            batch.ended_at = int(time.time())
            if batch.provider == "openai":
                if batch.results:
                    batch.output_file_id = self._jsonl_file(batch.results)
                if batch.errors:
                    batch.error_file_id = self._jsonl_file(batch.errors)

    def _jsonl_file(self, lines: list[dict[str, Any]]) -> str:
        data = b"".join(dumps(line) + b"\n" for line in lines)
        return str(self._store_file("batch_output", "batch_output.jsonl", data)["id"])

    def _failure(self, custom_id: str) -> BatchItemFaults | None:
        return next((f for f in self._faults if f.take(custom_id)), None)

    def _answer(self, batch: _Batch, item: dict[str, Any]) -> None:
        cid = str(item["custom_id"])
        sim = self._sim
        if batch.provider == "openai":
            api, handler = _OPENAI_ENDPOINTS[batch.endpoint]
            body = item["body"]
        else:
            api, handler = "messages", handle_messages
            body = item["params"]
        self._count += 1
        request = SimRequest(
            method="POST",
            path=batch.endpoint,
            headers={},
            body=body,
            provider=batch.provider,
            api=api,
            model=body.get("model") if isinstance(body.get("model"), str) else None,
            stream=False,
            index=10_000_000 + self._count,
            received_at=time.time(),
        )
        rid = "req_" + stable_id("", sim._context.salt, "item", self._count, length=24)
        fault = self._failure(cid)
        reply: Reply | None = None
        status, message = 200, ""
        if fault is not None:
            status, message = fault.status, fault.message
        else:
            try:
                reply = handler(sim._context, request, None)
            except EndpointError as exc:
                status, message = exc.status, exc.message
        if reply is not None and reply.usage is not None:
            sim._on_call(
                SimCall(
                    request=request,
                    provider=batch.provider,
                    api=api,
                    model=reply.model or request.model or "",
                    requested_model=request.model or "",
                    streamed=False,
                    usage=reply.usage,
                    usage_reported=True,
                    finish_reasons=reply.finish_reasons,
                    outputs=reply.outputs,
                    batch_id=batch.id,
                    custom_id=cid,
                )
            )
        item_id = "batch_req_" + stable_id("", sim._context.salt, "req", self._count)
        if batch.provider == "openai":
            if reply is not None:
                response = {"status_code": 200, "request_id": rid, "body": reply.body}
                batch.results.append(
                    {"id": item_id, "custom_id": cid, "response": response, "error": None}
                )
            else:
                err = error_body("openai", status, message, request_id=rid)
                response = {"status_code": status, "request_id": rid, "body": err}
                batch.errors.append(
                    {"id": item_id, "custom_id": cid, "response": response, "error": None}
                )
        elif reply is not None:
            batch.results.append(
                {"custom_id": cid, "result": {"type": "succeeded", "message": reply.body}}
            )
        else:
            err = error_body("anthropic", status, message, request_id=rid)
            batch.results.append({"custom_id": cid, "result": {"type": "errored", "error": err}})

    def _cancel(self, batch: _Batch) -> None:
        with self._lock:
            if batch.status != "in_progress":
                return
            batch.status = "cancelled"
            batch.cancelled_at = batch.ended_at = int(time.time())
            if batch.provider == "anthropic":
                batch.results = [
                    {"custom_id": i["custom_id"], "result": {"type": "canceled"}}
                    for i in batch.items
                ]

    # -- reading -----------------------------------------------------------------------------

    def _openai_object(self, batch: _Batch) -> dict[str, Any]:
        done = batch.status in ("completed", "cancelled")
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "errors": None,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": batch.status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "created_at": batch.created_at,
            "in_progress_at": batch.created_at,
            "expires_at": batch.created_at + 86400,
            "finalizing_at": batch.ended_at if batch.status == "completed" else None,
            "completed_at": batch.ended_at if batch.status == "completed" else None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": batch.cancelled_at,
            "cancelled_at": batch.cancelled_at,
            "request_counts": {
                "total": len(batch.items),
                "completed": len(batch.results) if done else 0,
                "failed": len(batch.errors) if done else 0,
            },
            "metadata": batch.metadata,
        }

    def _anthropic_object(self, batch: _Batch, exchange: Exchange | None) -> dict[str, Any]:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if batch.status == "in_progress":
            counts["processing"] = len(batch.items)
        for line in batch.results:
            counts[line["result"]["type"]] += 1
        stamp = _rfc3339
        ended = batch.status != "in_progress"
        url = None
        if ended and exchange is not None:
            host = exchange.headers.get("host") or f"{self._sim.host}:{self._sim.port}"
            url = f"http://{host}/v1/messages/batches/{batch.id}/results"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "ended_at": stamp(batch.ended_at),
            "created_at": stamp(batch.created_at),
            "expires_at": stamp(batch.created_at + 86400),
            "archived_at": None,
            "cancel_initiated_at": stamp(batch.cancelled_at),
            "results_url": url,
        }

    def _anthropic_results(self, batch: _Batch) -> bytes:
        if batch.status == "in_progress":
            raise EndpointError(404, f"Batch {batch.id} has not ended yet.")
        return b"".join(dumps(line) + b"\n" for line in batch.results)

    def _listed(self, provider: str, query: str) -> tuple[list[_Batch], bool]:
        args = parse_qs(query)
        limit = int(args.get("limit", ["20"])[0])
        after = args.get("after", args.get("after_id", [None]))[0]
        with self._lock:
            found = [b for b in reversed(self._batches.values()) if b.provider == provider]
        if after is not None:
            ids = [b.id for b in found]
            found = found[ids.index(after) + 1 :] if after in ids else []
        for batch in found[:limit]:
            self._advance(batch)
        return found[:limit], len(found) > limit

    def _openai_list(self, query: str) -> dict[str, Any]:
        page, more = self._listed("openai", query)
        data = [self._openai_object(b) for b in page]
        return {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": more,
        }

    def _anthropic_list(self, exchange: Exchange) -> dict[str, Any]:
        page, more = self._listed("anthropic", exchange.query)
        data = [self._anthropic_object(b, exchange) for b in page]
        return {
            "data": data,
            "has_more": more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }


def _rfc3339(seconds: int | None) -> str | None:
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
