"""Fakes for testing policies: a sender that plays a provider, and a policy that records.

``MockSender`` is to a :class:`~tokenomy.Pipeline` what httpx's ``MockTransport`` is to a
client: the end of the line, answering from a handler of yours, so a policy can be tested
without a framework or a server::

    send = MockSender(lambda request: "Paris.")
    response = Pipeline([MyPolicy()]).call(ModelRequest(model="gpt-4o-mini", messages=[...]), send)

``RecordingPolicy`` logs what passed through it, in order, into a list you can share between
several recorders (to see the order of policies).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from tokenomy.pipeline._policy import AsyncCallNext, CallNext, Policy
from tokenomy.pipeline._request import ModelRequest
from tokenomy.pipeline._response import ModelResponse, StreamChunk

__all__ = ["MockSender", "RecordingPolicy"]

Answer = str | ModelResponse | BaseException
Handler = Callable[[ModelRequest], Answer]


class MockSender:
    """A provider stand-in: ``send(request)`` (sync) and ``asend(request)`` (async).

    ``handler(request)`` returns the answer text, a :class:`ModelResponse`, or an exception
    to raise (default: ``"ok"``). Text answers get the provider-reported usage a real
    provider would give (prompt tokens counted with ``tokenomy.tokens``, output tokens of the
    text), are cut to ``max_tokens`` tokens with ``finish_reason="length"`` when the request
    sets a lower limit, and stream word by word (usage in the last chunk) when the request
    streams. ``requests`` lists what was sent; ``calls`` counts them.
    """

    def __init__(self, handler: Handler | None = None, *, model: str = "gpt-4o-mini") -> None:
        self.handler: Handler = handler or (lambda request: "ok")
        self.model = model
        self.requests: list[ModelRequest] = []
        self._lock = threading.Lock()
        #: hooks for tests: called with each chunk index just before it is produced
        self.on_chunk: Callable[[int], None] | None = None

    @property
    def calls(self) -> int:
        return len(self.requests)

    def __call__(self, request: ModelRequest) -> ModelResponse:
        return self.send(request)

    def send(self, request: ModelRequest) -> ModelResponse:
        answer = self._answer(request)
        if isinstance(answer, ModelResponse):
            return answer
        text, usage, finish = answer
        if request.stream:
            return ModelResponse.streaming(
                self._chunks(text, usage, finish, request), provider="openai"
            )
        return self._complete(request, text, usage, finish)

    async def asend(self, request: ModelRequest) -> ModelResponse:
        answer = self._answer(request)
        if isinstance(answer, ModelResponse):
            return answer
        text, usage, finish = answer
        if request.stream:
            return ModelResponse.streaming(
                self._achunks(text, usage, finish, request), provider="openai"
            )
        return self._complete(request, text, usage, finish)

    # -- internals -------------------------------------------------------------------------

    def _answer(self, request: ModelRequest) -> ModelResponse | tuple[str, Any, str]:
        with self._lock:
            self.requests.append(request)
        answer = self.handler(request)
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, ModelResponse):
            return answer
        from tokenomy.tokens import count_text, estimate_messages
        from tokenomy.usage import Usage

        model = request.model or self.model
        words = answer.split(" ")
        finish = "stop"
        limit = request.max_tokens
        if limit is not None and count_text(answer, model) > limit:
            kept: list[str] = []
            for word in words:
                if count_text(" ".join([*kept, word]), model) > limit:
                    break
                kept.append(word)
            answer, finish = " ".join(kept), "length"
        prompt = (
            count_text(request.prompt or "", model)
            if request.kind == "completion"
            else estimate_messages(list(request.messages), model).prompt_tokens
        )
        usage = Usage(input=prompt, output=count_text(answer, model) if answer else 0)
        return answer, usage, finish

    def _complete(self, request: ModelRequest, text: str, usage: Any, finish: str) -> ModelResponse:
        return ModelResponse(
            message={"role": "assistant", "content": text},
            usage=usage,
            finish_reason=finish,
            model=request.model or self.model,
            provider="openai",
        )

    def _pieces(self, text: str, usage: Any, finish: str, request: ModelRequest) -> list[StreamChunk]:
        words = text.split(" ") if text else []
        chunks = [StreamChunk(text=w if i == 0 else " " + w) for i, w in enumerate(words)]
        chunks.append(
            StreamChunk(usage=usage, finish_reason=finish, model=request.model or self.model)
        )
        return chunks

    def _chunks(self, text: str, usage: Any, finish: str, request: ModelRequest) -> Iterator[StreamChunk]:
        for i, chunk in enumerate(self._pieces(text, usage, finish, request)):
            if self.on_chunk is not None:
                self.on_chunk(i)
            yield chunk

    async def _achunks(
        self, text: str, usage: Any, finish: str, request: ModelRequest
    ) -> AsyncIterator[StreamChunk]:
        for i, chunk in enumerate(self._pieces(text, usage, finish, request)):
            if self.on_chunk is not None:
                self.on_chunk(i)
            yield chunk


class RecordingPolicy(Policy):
    """A policy that changes nothing and logs ``(label, event, value)`` for each request it
    passed on (``"request"``), response it got back (``"response"``) and stream completion
    (``"complete"``, with the error or ``None``), into ``log`` (shareable, thread-safe)."""

    def __init__(self, label: str = "recorder", log: list[tuple[str, str, Any]] | None = None) -> None:
        self.name = label
        self.log: list[tuple[str, str, Any]] = log if log is not None else []
        self._lock = threading.Lock()

    def _add(self, event: str, value: Any) -> None:
        with self._lock:
            self.log.append((self.label, event, value))

    @property
    def requests(self) -> list[ModelRequest]:
        return [v for who, e, v in self.log if who == self.label and e == "request"]

    @property
    def responses(self) -> list[ModelResponse]:
        return [v for who, e, v in self.log if who == self.label and e == "response"]

    def _seen(self, response: ModelResponse) -> ModelResponse:
        self._add("response", response)
        response.on_complete(lambda r, error: self._add("complete", error))
        return response

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        self._add("request", request)
        return self._seen(call_next(request))

    async def ahandle(self, request: ModelRequest, call_next: AsyncCallNext) -> ModelResponse:
        self._add("request", request)
        return self._seen(await call_next(request))
