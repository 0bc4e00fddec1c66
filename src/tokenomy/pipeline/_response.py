"""What a model call returned, complete or as a stream that completes when it is read.

A :class:`ModelResponse` is either complete (``message``, ``usage``, ``finish_reason`` set) or a
stream: its chunks pass through to the caller as they arrive, unchanged and unbuffered, and the
fields are filled when the stream ends. ``response.on_complete(fn)`` runs ``fn`` then (at once
for a complete response): that is how the record step records a stream's usage, and how a policy
acts on a stream's final answer without touching its chunks. A policy can also answer with a
stream of its own: :meth:`ModelResponse.replay` turns a complete answer into one.

A stream is read once, by ``for`` (sync) or ``async for`` (async), as the source is.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import TYPE_CHECKING, Any

from tokenomy.pipeline._request import Message

if TYPE_CHECKING:
    from tokenomy.ledger import CacheInfo
    from tokenomy.usage import Usage

__all__ = ["ModelResponse", "StreamChunk"]

#: finish reasons that mean "cut by the output-token limit" (OpenAI chat, Anthropic, Gemini,
#: OpenAI Responses' incomplete reason)
TRUNCATED_REASONS = frozenset({"length", "max_tokens", "max_output_tokens"})

#: ``fn(response, error)``: the stream ended (``error`` None), failed or was closed early.
CompleteHook = Callable[["ModelResponse", BaseException | None], None]


@dataclass(slots=True, kw_only=True)
class StreamChunk:
    """One piece of a streamed answer.

    ``text`` is the new text; ``tool_call_chunks`` are OpenAI-style deltas (``index``, ``id``,
    ``name``, ``arguments`` pieces); ``usage`` is what this chunk reports (chunks' usages are
    added up: providers report it once at the end, or split between the first and the last
    chunk); ``native`` is the framework's own chunk, which the wrapper hands to the caller.
    """

    text: str = ""
    tool_call_chunks: Sequence[dict[str, Any]] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    native: Any = None


@dataclass(slots=True, kw_only=True, eq=False)
class ModelResponse:
    """A model's answer to one :class:`~tokenomy.ModelRequest`.

    * ``message``: the assistant message as a plain dict (``role``, ``content``, and
      ``tool_calls`` in OpenAI shape when the model called tools).
    * ``usage``: the provider's counts (``None`` when it reported none: the record step then
      estimates them and flags the record).
    * ``model``: the model that answered, as the provider named it; ``finish_reason`` as the
      provider said it (``"length"``/``"max_tokens"``: see :attr:`truncated`).
    * ``cache``: set when the answer came from a cache instead of a provider.
    * ``native``: the framework's own result (an ``AIMessage``, a ``ChatResponse``...) that the
      wrapper returns to the caller; ``raw`` the provider's response when known.
    * ``attempt`` and ``record``: which attempt produced it, and the ledger record of that
      attempt (a :class:`~tokenomy.StoredCall`), both set by the pipeline.
    """

    message: Message = field(default_factory=lambda: {"role": "assistant", "content": ""})
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    provider: str | None = None
    service_tier: str | None = None
    cache: CacheInfo | None = None
    raw: Any = None
    native: Any = None
    streamed: bool = False
    attempt: int | None = None
    record: Any = None
    #: perf_counter() when the first chunk arrived (streams)
    first_chunk_at: float | None = None
    # -- stream state
    _source: Iterable[StreamChunk] | AsyncIterable[StreamChunk] | None = None
    _finalize: Callable[[ModelResponse], None] | None = None
    _hooks: list[CompleteHook] = field(default_factory=list)
    _done: bool = True
    _error: BaseException | None = None
    _text: list[str] = field(default_factory=list)
    _tools: dict[int, dict[str, Any]] = field(default_factory=dict)

    # -- building --------------------------------------------------------------------------

    @classmethod
    def streaming(
        cls,
        chunks: Iterable[StreamChunk] | AsyncIterable[StreamChunk],
        *,
        finalize: Callable[[ModelResponse], None] | None = None,
        **fields: Any,
    ) -> ModelResponse:
        """A response that streams ``chunks`` (sync or async iterable).

        When the stream ends the response's ``message``, ``usage``, ``finish_reason`` and
        ``model`` are assembled from the chunks; ``finalize(response)``, if given, runs after
        that and may set them from the framework's own aggregate (and ``native``).
        """
        return cls(_source=chunks, _finalize=finalize, _done=False, streamed=True, **fields)

    @classmethod
    def replay(
        cls, answer: ModelResponse, *, stream: bool, piece_chars: int = 16, **changes: Any
    ) -> ModelResponse:
        """A new response with ``answer``'s message and usage: complete, or (``stream=True``) a
        stream of its text in pieces of about ``piece_chars`` characters, then its tool calls
        and usage in the last chunk (how a cache answers a streamed request)."""
        fields: dict[str, Any] = {
            "message": dict(answer.message),
            "usage": answer.usage,
            "finish_reason": answer.finish_reason,
            "model": answer.model,
            "provider": answer.provider,
            "service_tier": answer.service_tier,
            "cache": answer.cache,
            "raw": answer.raw,
            "native": None,
        }
        fields.update(changes)
        if not stream:
            return cls(**fields)
        return cls.streaming(_pieces(fields, piece_chars), **{
            k: v for k, v in fields.items() if k not in ("message", "usage", "finish_reason")
        })

    # -- reading ---------------------------------------------------------------------------

    @property
    def is_stream(self) -> bool:
        """Whether this response streams (complete or not yet)."""
        return self._source is not None

    @property
    def done(self) -> bool:
        """Complete: not a stream, or a stream that ended (or failed)."""
        return self._done

    @property
    def error(self) -> BaseException | None:
        """What broke the stream, or closed it early (``GeneratorExit``...)."""
        return self._error

    @property
    def text(self) -> str:
        """The answer's text (text parts joined when the content is a list of parts)."""
        content = self.message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(
                str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content
            )
        return ""

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The tool calls, OpenAI shape (``id``, ``type``, ``function.name/arguments``)."""
        calls = self.message.get("tool_calls")
        return list(calls) if isinstance(calls, list) else []

    @property
    def truncated(self) -> bool:
        """Cut short by the output-token limit (``finish_reason`` length/max_tokens)."""
        reason = self.finish_reason
        return isinstance(reason, str) and reason.lower() in TRUNCATED_REASONS

    def on_complete(self, hook: CompleteHook) -> None:
        """Run ``hook(response, error)`` when the answer is complete: now, for a complete
        response; when the stream ends, fails or is closed, for a stream. Hooks run in the
        order they were added; one that raises does not stop the others (the first error is
        raised once all ran)."""
        if self._done:
            hook(self, self._error)
        else:
            self._hooks.append(hook)

    # -- streaming -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[StreamChunk]:
        source = self._source
        if source is None or self._done:
            return
        if not isinstance(source, Iterable):
            raise TypeError("this response streams asynchronously: use `async for`")
        self._source = ()  # read once
        error: BaseException | None = None
        try:
            for chunk in source:
                self._take(chunk)
                yield chunk
        except BaseException as exc:  # GeneratorExit too: the consumer stopped reading
            error = exc
            raise
        finally:
            self._source = source
            self._end(error)

    async def __aiter__(self) -> AsyncIterator[StreamChunk]:
        source = self._source
        if source is None or self._done:
            return
        if isinstance(source, Iterable):
            for chunk in self:
                yield chunk
            return
        self._source = ()
        error: BaseException | None = None
        try:
            async for chunk in source:
                self._take(chunk)
                yield chunk
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._source = source
            self._end(error)

    def consume(self) -> ModelResponse:
        """Read a sync stream to its end (a complete response is returned as it is)."""
        for _ in self:
            pass
        return self

    async def aconsume(self) -> ModelResponse:
        """Read a stream to its end, asynchronously."""
        async for _ in self:
            pass
        return self

    def _take(self, chunk: StreamChunk) -> None:
        if self.first_chunk_at is None:
            self.first_chunk_at = perf_counter()
        if chunk.text:
            self._text.append(chunk.text)
        for delta in chunk.tool_call_chunks:
            index = int(delta.get("index") or 0)
            call = self._tools.setdefault(index, {"id": None, "name": "", "arguments": ""})
            if delta.get("id"):
                call["id"] = delta["id"]
            call["name"] += str(delta.get("name") or "")
            call["arguments"] += str(delta.get("arguments") or "")
        if chunk.usage is not None:
            self.usage = chunk.usage if self.usage is None else self.usage + chunk.usage
        if chunk.finish_reason:
            self.finish_reason = chunk.finish_reason
        if chunk.model:
            self.model = chunk.model

    def _end(self, error: BaseException | None) -> None:
        if self._done:
            return
        message: Message = {"role": "assistant", "content": "".join(self._text)}
        if self._tools:
            message["tool_calls"] = [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
                for _, call in sorted(self._tools.items())
            ]
        self.message = message
        self._error = error
        self._done = True
        first: BaseException | None = None
        hooks, self._hooks = self._hooks, []
        try:
            if self._finalize is not None:
                self._finalize(self)
        except Exception as exc:
            first = exc
        for hook in hooks:
            try:
                hook(self, error)
            except Exception as exc:
                first = first or exc
        if first is not None and error is None:
            raise first


def _pieces(fields: dict[str, Any], size: int) -> Iterator[StreamChunk]:
    message = fields["message"]
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    size = max(size, 1)
    for i in range(0, len(text), size):
        yield StreamChunk(text=text[i : i + size])
    deltas = [
        {
            "index": i,
            "id": call.get("id"),
            "name": (call.get("function") or {}).get("name", ""),
            "arguments": _arguments((call.get("function") or {}).get("arguments", "")),
        }
        for i, call in enumerate(message.get("tool_calls") or ())
    ]
    yield StreamChunk(
        tool_call_chunks=deltas,
        usage=fields["usage"],
        finish_reason=fields["finish_reason"],
        model=fields["model"],
    )


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
