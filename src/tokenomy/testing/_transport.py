"""From HTTP request to HTTP response: routing, faults, latency, recording, SSE writing."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tokenomy.exceptions import ConfigurationError
from tokenomy.testing._anthropic import handle_count_tokens, handle_messages
from tokenomy.testing._embeddings import handle_embeddings, handle_models
from tokenomy.testing._faults import FAULT_HEADER, Fault
from tokenomy.testing._generate import Context, stable_id
from tokenomy.testing._openai_chat import handle_chat
from tokenomy.testing._openai_responses import handle_responses
from tokenomy.testing._records import SimCall
from tokenomy.testing._request import SimRequest
from tokenomy.testing._server import Exchange
from tokenomy.testing._wire import EndpointError, Reply, SSEEvent, dumps, error_body

if TYPE_CHECKING:
    from tokenomy.testing._simulator import ProviderSimulator

__all__ = ["Route", "respond", "route_for"]

Handler = Callable[[Context, SimRequest, "Fault | None"], Reply]


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request goes: provider, API name, and the endpoint function."""

    path: str
    provider: str | None
    api: str
    handler: Handler | None
    streams: bool = False


_ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/v1/chat/completions"): Route(
        "/v1/chat/completions", "openai", "chat.completions", handle_chat, True
    ),
    ("POST", "/v1/responses"): Route(
        "/v1/responses", "openai", "responses", handle_responses, True
    ),
    ("POST", "/v1/embeddings"): Route("/v1/embeddings", "openai", "embeddings", handle_embeddings),
    ("POST", "/v1/messages"): Route("/v1/messages", "anthropic", "messages", handle_messages, True),
    ("POST", "/v1/messages/count_tokens"): Route(
        "/v1/messages/count_tokens", "anthropic", "messages.count_tokens", handle_count_tokens
    ),
}


def _normalise(path: str) -> str:
    return path if path == "/v1" or path.startswith("/v1/") else "/v1" + path


def route_for(method: str, path: str) -> Route | None:
    """The route of ``method path`` (paths without the ``/v1`` prefix are accepted too)."""
    norm = _normalise(path)
    if method == "GET" and (norm == "/v1/models" or norm.startswith("/v1/models/")):
        return Route(norm, None, "models", None)
    return _ROUTES.get((method, norm))


_SECRET_HEADERS = ("authorization", "x-api-key", "api-key")


def _redacted(headers: dict[str, str]) -> dict[str, str]:
    """Request headers as recorded: credentials replaced (the scheme word is kept)."""
    out = dict(headers)
    for name in _SECRET_HEADERS:
        if name in out:
            scheme, _, rest = out[name].partition(" ")
            out[name] = f"{scheme} <redacted>" if rest else "<redacted>"
    return out


def _ratelimit_headers(provider: str | None, limited: float | None) -> dict[str, str]:
    remaining = "0" if limited is not None else "9999"
    reset = f"{limited:g}s" if limited is not None else "6ms"
    if provider == "anthropic":
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + (limited or 0.0)))
        return {
            "anthropic-ratelimit-requests-limit": "10000",
            "anthropic-ratelimit-requests-remaining": remaining,
            "anthropic-ratelimit-requests-reset": stamp,
            "anthropic-ratelimit-tokens-limit": "2000000",
            "anthropic-ratelimit-tokens-remaining": "0" if limited is not None else "1999000",
            "anthropic-ratelimit-tokens-reset": stamp,
        }
    return {
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": remaining,
        "x-ratelimit-reset-requests": reset,
        "x-ratelimit-limit-tokens": "30000000",
        "x-ratelimit-remaining-tokens": "0" if limited is not None else "29999000",
        "x-ratelimit-reset-tokens": reset if limited is not None else "0s",
    }


def _send_error(
    exchange: Exchange,
    provider: str | None,
    status: int,
    message: str | None,
    headers: dict[str, str],
    *,
    param: str | None = None,
) -> None:
    rid = headers.get("request-id") or headers.get("x-request-id") or ""
    body = error_body(provider, status, message, request_id=rid, param=param)
    exchange.send(status, dumps(body), {**headers, "Content-Type": "application/json"})


def respond(sim: ProviderSimulator, exchange: Exchange, route: Route | None) -> None:
    """Serve one request on ``exchange`` for ``sim``."""
    raw = exchange.read_body()
    body: Any = None
    bad_json = False
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            bad_json = True
    provider = route.provider if route is not None else None
    if provider is None:
        provider = "anthropic" if "anthropic-version" in exchange.headers else "openai"
    model = body.get("model") if isinstance(body, dict) else None
    model = model if isinstance(model, str) else None
    stream = bool(route and route.streams and isinstance(body, dict) and body.get("stream"))
    path = route.path if route is not None else _normalise(exchange.path)
    fault: Fault | None = None
    fault_problem: str | None = None
    header = exchange.headers.get(FAULT_HEADER)
    try:
        fault = Fault.from_header(header) if header else sim._take_fault(path, model)
    except ConfigurationError as exc:
        fault_problem = str(exc)
    request = sim._new_request(
        method=exchange.method,
        path=path,
        headers=_redacted(exchange.headers),
        body=body,
        provider=provider,
        api=route.api if route is not None else None,
        model=model,
        stream=stream,
        fault=fault.name if fault is not None else None,
    )
    rid = "req_" + stable_id("", sim._context.salt, request.index, length=24)
    limited = None
    if fault is not None and fault.kind == "error" and fault.status == 429:
        limited = fault.retry_after if fault.retry_after is not None else 1.0
    headers = {"request-id" if provider == "anthropic" else "x-request-id": rid}
    headers.update(_ratelimit_headers(provider, limited))
    if provider == "openai":
        headers["openai-processing-ms"] = str(int(sim.latency * 1000))
    exchange.wait(sim.latency)

    if route is None:
        msg = f"Unknown request URL: {exchange.method} {exchange.path}. The tokenomy simulator "
        msg += "serves /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/models, "
        msg += "/v1/messages and /v1/messages/count_tokens."
        return _send_error(exchange, provider, 404, msg, headers)
    if fault_problem is not None:
        return _send_error(exchange, provider, 400, fault_problem, headers)
    if bad_json or (route.handler is not None and not isinstance(body, dict)):
        msg = "The request body must be a JSON object (the tokenomy simulator could not parse it)."
        return _send_error(exchange, provider, 400, msg, headers)
    if route.handler is not None and model is None:
        msg = "you must provide a model parameter"
        return _send_error(exchange, provider, 400, msg, headers, param="model")

    if fault is not None and fault.kind == "error":
        extra = dict(fault.headers)
        if fault.retry_after is not None:
            extra["retry-after"] = str(max(math.ceil(fault.retry_after), 0))
            extra["retry-after-ms"] = str(round(fault.retry_after * 1000))
        return _send_error(exchange, provider, fault.status, fault.message, {**headers, **extra})
    if fault is not None and fault.kind == "timeout":
        exchange.wait(fault.hold)
        return exchange.abort()
    if fault is not None and fault.kind == "disconnect":
        return exchange.abort()

    ctx = sim._context
    try:
        if route.handler is None:
            reply = handle_models(ctx, request, sim.known_models())
        else:
            reply = route.handler(ctx, request, fault if fault and fault.kind == "length" else None)
    except EndpointError as exc:
        return _send_error(exchange, provider, exc.status, exc.message, headers, param=exc.param)
    except Exception as exc:
        sim._on_error(exc)
        msg = f"tokenomy simulator: answering failed with {type(exc).__name__}: {exc}"
        return _send_error(exchange, provider, 500, msg, headers)

    broken = fault is not None and fault.kind in ("malformed_json", "truncated_stream")

    def record() -> None:
        if reply.usage is None or broken or request.api is None:
            return
        sim._on_call(
            SimCall(
                request=request,
                provider=provider,
                api=request.api,
                model=reply.model or model or "",
                requested_model=model or "",
                streamed=stream,
                usage=reply.usage,
                usage_reported=reply.usage_reported,
                finish_reasons=reply.finish_reasons,
                outputs=reply.outputs,
            )
        )

    if reply.events is None:
        if reply.usage is not None:
            exchange.wait(sim.time_to_first_token + sim.per_token_delay * reply.output_tokens)
        record()
        payload = dumps(reply.body)
        json_headers = {**headers, **reply.headers, "Content-Type": "application/json"}
        if fault is not None and fault.kind == "malformed_json":
            return exchange.send(200, payload[: max(len(payload) // 2, 1)], json_headers)
        if fault is not None and fault.kind == "truncated_stream":
            return exchange.send_partial(200, payload, json_headers)
        return exchange.send(reply.status, payload, json_headers)
    record()
    _write_stream(sim, exchange, reply.events, {**headers, **reply.headers}, fault)
    return None


def _write_stream(
    sim: ProviderSimulator,
    exchange: Exchange,
    events: list[SSEEvent],
    headers: dict[str, str],
    fault: Fault | None,
) -> None:
    exchange.start_stream(
        200,
        {
            **headers,
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
        },
    )
    cut: int | None = None
    if fault is not None and fault.kind in ("malformed_json", "truncated_stream"):
        cut = fault.after_events if fault.after_events is not None else len(events) // 2
        cut = min(cut, len(events) - 1)
    # Events due at the same moment go out in one chunk (fewer syscalls); a delay flushes.
    pending: list[bytes] = []

    def flush() -> None:
        if pending:
            exchange.write_chunk(b"".join(pending))
            pending.clear()

    first = True
    for index, event in enumerate(events):
        if cut is not None and index == cut:
            flush()
            assert fault is not None
            if fault.kind == "truncated_stream":
                encoded = event.encode()
                exchange.write_chunk(encoded[: max(len(encoded) // 2, 1)])
                exchange.abort()
                return
            name = f"event: {event.event}\n" if event.event else ""
            exchange.write_chunk(f'{name}data: {{"type": "broken", "choices": [\n\n'.encode())
            exchange.end_stream()
            return
        if event.tokens:
            delay = sim.time_to_first_token if first else sim.per_token_delay * event.tokens
            first = False
            if delay > 0:
                flush()
                exchange.wait(delay)
        pending.append(event.encode())
    flush()
    exchange.end_stream()
