"""``SingleFlight``: identical requests in flight at the same time are sent once.

The first caller (the leader) sends; callers with the same request that arrive while it is
in flight wait for its answer and get a copy (recorded as served by the policy: attempt 0,
nothing billed), or its error. Requests are the same when their model, provider, kind,
messages/prompt and parameters are (tags and run ids are not compared). Streamed requests
pass through untouched (a stream can be read once).

An idempotency key (``tags={"idempotency_key": ...}`` on the request, or ``key=fn(request)``)
also collapses user-level duplicates that are not simultaneous: with ``idempotency_ttl``
seconds, an answered key is answered again from memory for that long (a double submit).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Callable
from concurrent.futures import Future

from tokenomy.exceptions import ConfigurationError
from tokenomy.pipeline._policy import AsyncCallNext, CallNext, Policy
from tokenomy.pipeline._request import ModelRequest
from tokenomy.pipeline._response import ModelResponse
from tokenomy.resilience._clock import Clock, real_clock

__all__ = ["IDEMPOTENCY_TAG", "SingleFlight", "request_key"]

#: the request tag read as an idempotency key
IDEMPOTENCY_TAG = "idempotency_key"


def request_key(request: ModelRequest) -> str:
    """A digest of what makes two requests the same call (see the module docstring)."""
    body = {
        "model": request.model,
        "provider": request.provider,
        "kind": request.kind,
        "messages": list(request.messages),
        "prompt": request.prompt,
        "params": dict(request.params),
    }
    text = json.dumps(body, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _copy(answer: ModelResponse) -> ModelResponse:
    return ModelResponse.replay(answer, stream=False, native=answer.native)


class SingleFlight(Policy):
    """Collapse identical in-flight requests into one provider call (module docstring)."""

    def __init__(
        self,
        *,
        key: Callable[[ModelRequest], str | None] | None = None,
        idempotency_ttl: float = 0.0,
        clock: Clock | None = None,
    ) -> None:
        if idempotency_ttl < 0:
            raise ConfigurationError(f"idempotency_ttl must be >= 0 s, got {idempotency_ttl!r}")
        self.key_of = key
        self.idempotency_ttl = float(idempotency_ttl)
        self.clock: Clock = clock or real_clock
        self._lock = threading.Lock()
        self._flights: dict[str, Future[ModelResponse]] = {}
        self._afl: dict[tuple[int, str], asyncio.Future[ModelResponse]] = {}
        self._done: dict[str, tuple[float, ModelResponse]] = {}
        #: requests answered by another caller's call (in flight or remembered)
        self.collapsed = 0

    def __repr__(self) -> str:
        return f"SingleFlight(idempotency_ttl={self.idempotency_ttl})"

    def _key(self, request: ModelRequest) -> tuple[str, bool]:
        """(key, whether it is an idempotency key the answer is remembered under)."""
        if self.key_of is not None:
            custom = self.key_of(request)
            if custom is not None:
                return "k:" + custom, True
        tagged = request.tags.get(IDEMPOTENCY_TAG)
        if tagged is not None:
            return "k:" + tagged, True
        return "r:" + request_key(request), False

    def _remembered(self, key: str) -> ModelResponse | None:
        hit = self._done.get(key)
        if hit is None:
            return None
        if self.clock() - hit[0] > self.idempotency_ttl:
            del self._done[key]
            return None
        self.collapsed += 1
        return _copy(hit[1])

    def _remember(self, key: str, keyed: bool, response: ModelResponse) -> None:
        if keyed and self.idempotency_ttl > 0:
            self._done[key] = (self.clock(), response)

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        if request.stream:
            return call_next(request)
        key, keyed = self._key(request)
        with self._lock:
            hit = self._remembered(key)
            if hit is not None:
                return hit
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = Future()
            else:
                self.collapsed += 1
        if not leader:
            return _copy(flight.result())
        try:
            response = call_next(request)
        except BaseException as exc:
            with self._lock:
                del self._flights[key]
            flight.set_exception(exc)
            raise
        with self._lock:
            del self._flights[key]
            self._remember(key, keyed, response)
        flight.set_result(response)
        return response

    async def ahandle(self, request: ModelRequest, call_next: AsyncCallNext) -> ModelResponse:
        if request.stream:
            return await call_next(request)
        key, keyed = self._key(request)
        loop = asyncio.get_running_loop()
        fkey = (id(loop), key)
        with self._lock:
            hit = self._remembered(key)
            if hit is not None:
                return hit
            flight = self._afl.get(fkey)
            leader = flight is None
            if flight is None:
                flight = self._afl[fkey] = loop.create_future()
            else:
                self.collapsed += 1
        if not leader:
            return _copy(await asyncio.shield(flight))
        try:
            response = await call_next(request)
        except BaseException as exc:
            with self._lock:
                del self._afl[fkey]
            if isinstance(exc, asyncio.CancelledError):
                flight.cancel()
            else:
                flight.set_exception(exc)
                flight.exception()  # retrieved: no "never retrieved" warning without followers
            raise
        with self._lock:
            del self._afl[fkey]
            self._remember(key, keyed, response)
        flight.set_result(response)
        return response


