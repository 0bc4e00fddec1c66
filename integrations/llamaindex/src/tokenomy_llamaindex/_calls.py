"""From call start to record: timing, the run tree, deduplication, recording.

Both handlers feed one :class:`CallRecorder` each: ``start`` when an LLM call begins,
``chunk`` for each streamed piece, ``end`` with the final response, ``fail`` when the call
raised or its stream broke; ``embed_start``/``embed_end`` for embeddings. Every call that
started is recorded once: a failed one with ``error`` set to the exception's class name.

**Nothing is counted twice.** LlamaIndex emits chat *and* completion events when a chat-only
method delegates to a completion one (``CustomLLM.chat`` → ``complete``,
``CustomLLM.astream_chat`` → ``stream_chat`` → ``stream_complete``, ``StructuredLLM.chat`` →
the wrapped LLM's ``chat``...). The rule: an LLM call that makes LLM calls of its own is a
wrapper, and only the innermost call -- the one that talked to the provider, whose ``raw``
response carries the usage -- is recorded. A call is known to be a wrapper when

* a call starts in a span enclosed by its span (the delegate is called eagerly), or
* it ends with the very response object a call that started after it ended with (the
  delegate runs lazily, inside a generator, outside the wrapper's span).

**Attribution.** The enclosing ``tokenomy.track()`` blocks are captured when the call starts;
the record is attributed to them even when a stream is consumed elsewhere.

**The usual call** (not streamed, not a wrapper, ``raw`` carrying an OpenAI-shaped usage) is
recorded by :meth:`CallRecorder._usual`; anything else goes through
:meth:`CallRecorder._finish`. Both read the response with the same readers of ``_usage.py``
and record through :meth:`CallRecorder._record`; the usual one skips the general usage reader
and the wrapper bookkeeping, which the benchmark showed is worth about half the overhead.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tokenomy import (
    NormalisedRequest,
    Tracker,
    UnpricedCallError,
    WarnOnce,
    current_tracker,
    current_trackers,
    in_pipeline_call,
    store_call,
)
from tokenomy.exceptions import EstimatedUsageWarning, UsageParseError
from tokenomy.usage import Usage, usage_from_openai_chat
from tokenomy_llamaindex._spans import SpanTree, span_name
from tokenomy_llamaindex._usage import (
    RawFacts,
    configured_model,
    embedding_usage,
    estimate_usage,
    is_mapping,
    normalised_request,
    provider_of,
    provider_usage,
    raw_facts,
)

__all__ = ["CallRecorder", "evict_oldest"]

log = logging.getLogger("tokenomy_llamaindex")

FRAMEWORK = "llamaindex"
_MAX_OPEN = 10_000  # open calls kept (streams never consumed leave theirs behind)
_MAX_DONE = 256  # last responses of calls that finished while others were open (see _covered)
_MAX_DEPTH = 256  # span ancestors walked when looking for an enclosing call
_NO_SPAN = ""
_UNSET: Any = object()


def evict_oldest(d: dict[Any, Any], keep: int) -> None:
    """Drop the oldest entries of ``d`` until at most ``keep`` remain (hold a lock)."""
    while len(d) > keep:
        d.pop(next(iter(d)), None)


def _has(obj: Any, key: str) -> bool:
    return key in obj if type(obj) is dict else getattr(obj, key, None) is not None


def _new_id() -> str:
    return str(uuid.uuid4())


def _run_name(root_id: str | None) -> dict[str, str] | None:
    # the base tags of a record: its root span's name as tag run_name (lowest precedence)
    return None if root_id is None else {"run_name": span_name(root_id)}


@dataclass(slots=True, eq=False)
class _Call:
    kind: str
    span_id: str | None
    parent_id: str | None
    root_id: str | None
    model_dict: Mapping[str, Any] | None
    messages: Sequence[Any] | None
    prompt: str | None
    tools: Any
    seq: int
    started: float
    chain: tuple[Tracker, ...]  # the track() blocks active when the call started
    outer: _Call | None = None  # an enclosing call in the same span
    delegated: bool = False
    first_chunk: float | None = None
    last: Any = None

    def request(self) -> NormalisedRequest:
        """What the call sent, normalised for the record's request hashes
        (:func:`tokenomy.request_hashes`): called when the record is stored or first read."""
        request: NormalisedRequest = normalised_request(self.messages, self.prompt, self.tools)
        return request


@dataclass(slots=True, eq=False)
class _Embedding:
    model_dict: Mapping[str, Any] | None
    span_id: str | None
    root_id: str | None
    started: float
    chain: tuple[Tracker, ...]


class CallRecorder:
    """Turns call signals into records (thread-safe), as :func:`tokenomy.record_call` would.

    ``record_outside_track`` false: calls that start outside every ``tokenomy.track()`` block
    are ignored. ``ledger``/``price_book``, when set, win over the enclosing blocks' (the rule
    of :func:`tokenomy.store_call`).
    """

    def __init__(
        self,
        tree: SpanTree,
        *,
        record_outside_track: bool = True,
        ledger: Any = None,
        price_book: Any = None,
    ) -> None:
        self.tree = tree
        self.record_outside_track = record_outside_track
        self.ledger = ledger
        self.price_book = price_book
        self._open: dict[str, _Call] = {}
        self._done: dict[int, tuple[Any, int]] = {}
        self._embeds: dict[str, list[_Embedding]] = {}
        self._seq = itertools.count()
        self._warn_once = WarnOnce()  # once per LLM class and streamed-or-not, per recorder
        self.failures = 0  # calls that could not be recorded or priced (each was logged)
        self.last_failure: BaseException | None = None
        # Single dict operations are atomic; iterating one (eviction) needs the lock.
        self._lock = threading.Lock()

    def wants(self) -> bool:
        """Whether a call starting here (in this context) would be recorded."""
        return self.record_outside_track or current_tracker() is not None

    # -- LLM calls ------------------------------------------------------------------------

    def start(
        self,
        span_id: str | None,
        kind: str,
        model_dict: Mapping[str, Any] | None,
        messages: Sequence[Any] | None = None,
        prompt: str | None = None,
        tools: Any = None,
    ) -> None:
        """An LLM call began in span ``span_id`` (``messages``/``prompt``/``tools``: what an
        estimate needs when the provider reports no usage).

        A call that starts while :func:`tokenomy.in_pipeline_call` is true is a pipeline's
        (``TokenomyLLM``): the pipeline records it. It is not opened here, and the calls that
        enclose it (a ``StructuredLLM`` around the wrapper...) are marked as wrappers, so they
        are not recorded either.
        """
        if in_pipeline_call():
            self._skip(span_id)
            return
        chain = current_trackers()
        if not chain and not self.record_outside_track:
            return
        key = span_id or _NO_SPAN
        open_ = self._open
        outer = open_.get(key)
        if outer is not None:
            outer.delegated = True
        elif open_ and span_id is not None:
            enclosing = self._enclosing(span_id)
            if enclosing is not None:
                enclosing.delegated = True
        node = self.tree.get(span_id)
        if node is None:
            parent_id, root_id = None, span_id
        else:
            parent_id, root_id = node.parent_id, node.root_id
        open_[key] = _Call(
            kind,
            span_id,
            parent_id,
            root_id,
            model_dict,
            messages,
            prompt,
            tools,
            next(self._seq),
            time.perf_counter(),
            chain,
            outer,
        )
        if len(open_) > _MAX_OPEN:
            with self._lock:
                evict_oldest(open_, _MAX_OPEN)

    def _skip(self, span_id: str | None) -> None:
        # a pipeline's call: whatever open call encloses it wraps it
        outer = self._open.get(span_id or _NO_SPAN)
        if outer is None and self._open and span_id is not None:
            outer = self._enclosing(span_id)
        if outer is not None:
            outer.delegated = True

    def _enclosing(self, span_id: str) -> _Call | None:
        open_, parent = self._open, self.tree.parent
        sid: str | None = span_id
        for _ in range(_MAX_DEPTH):
            sid = parent(sid)  # type: ignore[arg-type]
            if sid is None:
                return None
            call = open_.get(sid)
            if call is not None:
                return call
        return None

    def _pop(self, span_id: str | None) -> _Call | None:
        key = span_id or _NO_SPAN
        call = self._open.pop(key, None)
        if call is not None and call.outer is not None:
            self._open[key] = call.outer
        return call

    def chunk(self, span_id: str | None, response: Any) -> None:
        """A streamed piece of the call in span ``span_id`` arrived."""
        call = self._open.get(span_id or _NO_SPAN)
        if call is not None:
            if call.first_chunk is None:
                call.first_chunk = time.perf_counter()
            call.last = response

    def end(self, span_id: str | None, response: Any) -> None:
        """The call in span ``span_id`` returned ``response`` (for a stream: its last piece)."""
        call = self._pop(span_id)
        if call is not None and not self._usual(call, response):
            self._finish(call, response, None)

    def _usual(self, call: _Call, response: Any) -> bool:
        """Record the usual call and return True: not streamed, not known to be a wrapper,
        ``raw`` (a dict or an SDK object) carrying an OpenAI chat-completions usage. Else
        False, for :meth:`_finish`. The same record :meth:`_finish` makes, for less than half
        its cost (it skips the general usage reader and the wrapper bookkeeping when no other
        call is open): the benchmark in ``docs/ARCHITECTURE.md`` is why it exists.
        """
        if call.delegated or call.first_chunk is not None:
            return False
        raw = getattr(response, "raw", None)
        if type(raw) is dict:
            usage = raw.get("usage")
        elif raw is None or is_mapping(raw):
            return False  # a Mapping other than a dict: the general path
        else:
            usage = getattr(raw, "usage", None)  # an SDK object
        if usage is None or not (
            "prompt_tokens" in usage if type(usage) is dict else _has(usage, "prompt_tokens")
        ):
            return False
        try:
            parsed = usage_from_openai_chat(usage)
        except UsageParseError:
            return False
        if (self._done or self._open) and self._covered(call, response):
            return True  # a call that started later (a delegate) recorded this very response
        facts = raw_facts(raw)
        self._record(call, response, parsed, facts.model or configured_model(call.model_dict), facts)
        return True

    def fail(self, span_id: str | None, error: BaseException | str | None) -> None:
        """The call in span ``span_id`` raised, or its stream broke or was closed early.

        Recorded with ``error`` = the exception's class name: zero tokens when nothing came
        back (a failed request is not billed), else the tokens of the pieces received (the
        provider's when the last piece carried usage, else estimated): they were billed.
        """
        self._embeds.pop(span_id or _NO_SPAN, None)
        call = self._pop(span_id)
        if call is None:
            return
        last = call.last
        if last is not None:
            for other in list(self._open.values()):
                if other.last is last and other.seq > call.seq:
                    return  # a lazy delegate still streaming these pieces will record them
        self._finish(call, last, "error" if error is None else error)

    def _covered(self, call: _Call, *markers: Any) -> bool:
        """True when a call that started later already finished with one of ``markers`` (a
        response, an exception): ``call`` wraps it lazily. ``call`` must be out of ``_open``.

        The markers are remembered as this call's only while other calls are open: a call
        this one could be the delegate of started before it and has not ended, so it is open
        now; when none is, remembering them (keeping the response alive) serves nothing.
        """
        done = self._done
        if not done and not self._open:
            return False  # nothing remembered, nothing to remember: the usual lone call
        covered = False
        with self._lock:
            for marker in markers:
                if marker is None or isinstance(marker, str):
                    continue
                seen = done.get(id(marker))
                if seen is not None and seen[0] is marker and seen[1] > call.seq:
                    covered = True
                if self._open:
                    done[id(marker)] = (marker, call.seq)
            evict_oldest(done, _MAX_DONE)
        return covered

    def _finish(self, call: _Call, response: Any, error: BaseException | str | None) -> None:
        if self._covered(call, response, error) or call.delegated:
            return
        usage = provider_usage(response)
        facts = raw_facts(None if response is None else getattr(response, "raw", None))
        model = facts.model or configured_model(call.model_dict)
        if usage is None and response is None and error is not None:
            usage = Usage()  # the request failed before anything came back: nothing billed
        elif usage is None:
            usage = estimate_usage(
                model=model,
                provider=provider_of(call.model_dict),
                messages=call.messages,
                prompt=call.prompt,
                tools=call.tools,
                response=response,
            )
            self._warn_estimated(call, model)
        self._record(
            call,
            response,
            usage,
            model,
            facts,
            error if error is None or isinstance(error, str) else type(error).__name__,
        )

    def _warn_estimated(self, call: _Call, model: str | None) -> None:
        streamed = call.first_chunk is not None
        key = (str((call.model_dict or {}).get("class_name")), streamed)
        if key in self._warn_once:
            return
        hint = (
            " OpenAI streams report usage only when asked: pass additional_kwargs="
            "{'stream_options': {'include_usage': True}} to the LLM, or call "
            "tokenomy_llamaindex.include_stream_usage(llm)."
            if streamed
            else ""
        )
        self._warn_once(
            key,
            f"{key[0]} ({model or 'unknown model'}) reported no token usage for a "
            f"{'streamed ' if streamed else ''}{call.kind} call: its tokens were estimated "
            f"locally and the record is flagged estimated.{hint}",
            EstimatedUsageWarning,
            stacklevel=2,
        )

    # -- embeddings -----------------------------------------------------------------------

    def embed_start(self, span_id: str | None, model_dict: Mapping[str, Any] | None) -> None:
        """An embedding request (one batch) began in span ``span_id`` (not noted while
        :func:`tokenomy.in_pipeline_call` is true: a pipeline records it)."""
        if in_pipeline_call():
            return
        chain = current_trackers()
        if not chain and not self.record_outside_track:
            return
        _, root_id = self.tree.place(span_id)
        pending = _Embedding(model_dict, span_id, root_id, time.perf_counter(), chain)
        self._embeds.setdefault(span_id or _NO_SPAN, []).append(pending)

    def embed_end(self, span_id: str | None, chunks: Sequence[str]) -> None:
        """The oldest pending embedding request of span ``span_id`` returned for ``chunks``."""
        key = span_id or _NO_SPAN
        pending_list = self._embeds.get(key)
        if not pending_list:
            return
        pending = pending_list.pop(0)
        if not pending_list:
            self._embeds.pop(key, None)
        usage = embedding_usage(chunks, pending.model_dict)
        run_id = _new_id()
        try:
            store_call(
                model=configured_model(pending.model_dict),
                usage=usage,
                provider=provider_of(pending.model_dict),
                kind="embedding",
                latency_ms=(time.perf_counter() - pending.started) * 1000.0,
                run_id=run_id,
                parent_run_id=pending.span_id,
                root_run_id=pending.root_id,
                base_tags=_run_name(pending.root_id),
                name=span_name(pending.span_id),
                framework=FRAMEWORK,
                price_book=self.price_book,
                ledger=self.ledger,
                trackers=pending.chain,
            )
        except UnpricedCallError as exc:
            self._priced_failure(run_id, exc)

    # -- the record -------------------------------------------------------------------------

    def _record(
        self,
        call: _Call,
        response: Any,
        usage: Usage,
        model: str | None,
        facts: RawFacts,
        error: str | None = None,
    ) -> None:
        """Store one finished LLM call, attributed to the track() blocks active where it
        started.

        Tag ``run_name`` is the root span's name unless the innermost block sets one. This
        recorder's own ledger and price book (when set) win over the enclosing block's (the
        rule of :func:`tokenomy.store_call`). A call whose pricing failed is recorded
        unpriced; the error is counted in :attr:`failures` and logged in one line.
        """
        first, span_id, root_id = call.first_chunk, call.span_id, call.root_id
        run_id = span_id or _new_id()
        name = span_name(span_id)
        # tag run_name: the root span's name (a lone call is its own root: named once)
        base: dict[str, str] | None = None
        if root_id is not None:
            same = name is not None and root_id == span_id
            base = {"run_name": name if same and name is not None else span_name(root_id)}
        try:
            store_call(
                model=model,
                usage=usage,
                provider=provider_of(call.model_dict),
                kind=call.kind,
                latency_ms=(time.perf_counter() - call.started) * 1000.0,
                ttft_ms=None if first is None else (first - call.started) * 1000.0,
                streamed=first is not None or getattr(response, "delta", None) is not None,
                run_id=run_id,
                parent_run_id=call.parent_id,
                root_run_id=root_id,
                base_tags=base,
                error=error,
                service_tier=facts.service_tier,
                name=name,
                framework=FRAMEWORK,
                truncated=facts.truncated,
                price_book=self.price_book,
                ledger=self.ledger,
                trackers=call.chain,
                request=call.request,
            )
        except UnpricedCallError as exc:
            self._priced_failure(run_id, exc)

    def _priced_failure(self, run_id: str, exc: UnpricedCallError) -> None:
        self.note_failure(exc)
        log.warning("tokenomy: LlamaIndex call %s: %s", run_id, exc)

    def note_failure(self, exc: BaseException) -> None:
        """Count a failure to record (or to price) a call."""
        with self._lock:
            self.failures += 1
            self.last_failure = exc
