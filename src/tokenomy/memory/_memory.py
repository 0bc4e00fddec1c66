"""``ConversationMemory``: a token-budget window over a conversation, optionally summarising
what leaves it; usable directly, as a pipeline :class:`~tokenomy.Policy`, and by the
framework memories (``tokenomy_langchain.TokenomyChatHistory``,
``tokenomy_llamaindex.TokenomyMemoryBuffer``).

One read (:meth:`ConversationMemory.window`, or a model call through the policy):

1. each message's tokens come from the :class:`MessageCounter` cache (counted once);
2. :func:`plan_window` picks the window under ``max_tokens`` / ``max_turns``, leaving room
   for the summary message;
3. with a ``summarizer``, messages newly evicted since the last read (and only those) are
   folded into the running summary by one call through a :class:`~tokenomy.Pipeline` (a
   ledger record tagged ``purpose=memory``), capped at ``summary_max_tokens``; if it fails,
   ``on_summary_error`` says whether those messages are dropped (``"drop"``) or kept for the
   next summary (``"keep"``: they are folded at the next successful call); either way the
   failure is counted and the model call goes on under budget;
4. the summary goes right after the leading system messages, as a ``summary_role``
   (``"user"`` by default: every provider accepts it there) message;
5. the conversation's :class:`MemoryStats` add what was sent, what the full history was,
   and the summary's cost.

As a policy it replaces the request's messages, so place it before the policies that read
them (a budget's reservation then counts what is actually sent).

Conversations are told apart by tag ``conversation`` (``conversation_tag``) on the call or
its ``track()`` block, or the ``conversation=`` argument; a history that no longer starts
with what was summarised (another conversation under the same key, a cleared history)
starts a fresh summary.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Literal

from tokenomy.exceptions import ConfigurationError, MemoryBudgetError
from tokenomy.memory._counter import MessageCounter, MessageInfo
from tokenomy.memory._state import Pending, State
from tokenomy.memory._stats import MemoryStats
from tokenomy.memory._summarizer import Summarizer, summary_request
from tokenomy.memory._view import SUMMARY_PREFIX, MemoryView, replaced, with_messages
from tokenomy.memory._window import WindowPlan, plan_window, required_tokens
from tokenomy.pipeline import AsyncCallNext, CallNext, Message, ModelRequest, ModelResponse, Policy

__all__ = ["ConversationMemory"]

#: Tokens of slack added to the summary's reservation (token boundaries around the prefix).
_SLACK = 2

MessagesBetween = Callable[[int, int], Sequence[Message]]


def _positive(name: str, value: object, *, allow_none: bool = True) -> Any:
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(
            f"ConversationMemory {name} must be a whole number >= 1, got {value!r}"
        )
    return value


#: ``evict_to="auto"`` with a summarizer and a token budget: evict down to half the budget
#: (on the memory benchmark's sessions, 0.4 and 0.5 made the same number of summary calls
#: within one and cost within a point; sliding one turn per call made three times the calls)
AUTO_EVICT_TO = 0.5


class ConversationMemory(Policy):
    """A sliding window by tokens and turns, optionally summarising (module docstring).

    * ``max_tokens``: input-token budget of the whole request's messages (system, summary,
      window and the request's fixed tokens; tools definitions are not part of it);
      ``max_turns``: at most this many user turns. At least one of them.
    * ``model``/``provider``: whose tokenizer counts (default: the request's model; the
      OpenAI chat rules unless ``provider="anthropic"``).
    * ``summarizer``: a :class:`Summarizer` to fold evicted turns into a running summary of at
      most ``summary_max_tokens``; ``summary_role``: ``"user"`` or ``"system"``;
      ``on_summary_error``: ``"drop"`` or ``"keep"``.
    * ``evict_to``: when the window overflows, evict down to this fraction of ``max_tokens``
      at once (e.g. ``0.6``) instead of one turn per call: the window then grows append-only
      for several turns, so its start (system, summary, oldest kept turn) stays the same and
      providers' prompt caches can hit it, and evicted turns are summarised in fewer calls.
      ``None``: slide by one turn per call. ``"auto"`` (default): ``0.5`` when summarising
      with a token budget (sliding one turn per call would make a summary call on nearly
      every read), else ``None``.
    * ``ledger``/``price_book``: where summary calls are recorded and how they and the
      savings are priced (default: as for any call).
    """

    name = "memory"

    def __init__(
        self,
        *,
        max_tokens: int | None = None,
        max_turns: int | None = None,
        model: str | None = None,
        provider: str | None = None,
        summarizer: Summarizer | None = None,
        summary_max_tokens: int = 300,
        summary_role: Literal["user", "system"] = "user",
        on_summary_error: Literal["drop", "keep"] = "drop",
        evict_to: float | Literal["auto"] | None = "auto",
        conversation_tag: str = "conversation",
        ledger: Any = None,
        price_book: Any = None,
        max_conversations: int = 10_000,
    ) -> None:
        self.max_tokens = _positive("max_tokens", max_tokens)
        self.max_turns = _positive("max_turns", max_turns)
        if self.max_tokens is None and self.max_turns is None:
            raise ConfigurationError(
                "ConversationMemory needs a limit: max_tokens=<input-token budget> and/or "
                "max_turns=<user turns kept>"
            )
        if summarizer is not None and not isinstance(summarizer, Summarizer):
            raise ConfigurationError(
                f"summarizer must be a tokenomy.Summarizer, got {type(summarizer).__name__} "
                "(tokenomy_langchain.ChatModelSummarizer, tokenomy_llamaindex.LLMSummarizer)"
            )
        if summary_role not in ("user", "system"):
            raise ConfigurationError(
                f"summary_role must be 'user' or 'system', got {summary_role!r}"
            )
        if on_summary_error not in ("drop", "keep"):
            raise ConfigurationError(
                f"on_summary_error must be 'drop' or 'keep', got {on_summary_error!r}"
            )
        if evict_to == "auto":
            evict_to = AUTO_EVICT_TO if summarizer is not None and max_tokens is not None else None
        if evict_to is not None and (
            isinstance(evict_to, bool)
            or not isinstance(evict_to, int | float)
            or not 0 < evict_to <= 1
        ):
            raise ConfigurationError(
                f"evict_to must be a fraction of max_tokens in (0, 1], got {evict_to!r}"
            )
        if evict_to is not None and max_tokens is None:
            raise ConfigurationError("evict_to needs max_tokens (it is a fraction of the budget)")
        self.evict_to = None if evict_to is None else float(evict_to)
        if not conversation_tag:
            raise ConfigurationError("ConversationMemory conversation_tag must be a tag name")
        self.model = model
        self.provider = provider
        self.summarizer = summarizer
        self.summary_max_tokens = _positive(
            "summary_max_tokens", summary_max_tokens, allow_none=False
        )
        self.summary_role = summary_role
        self.on_summary_error = on_summary_error
        self.conversation_tag = conversation_tag
        self.ledger = ledger
        self.price_book = price_book
        self.max_conversations = _positive("max_conversations", max_conversations, allow_none=False)
        self._lock = threading.Lock()
        self._states: OrderedDict[str | None, State] = OrderedDict()
        self._counters: dict[tuple[str | None, str | None], MessageCounter] = {}
        self._prices: dict[tuple[str, str | None], Any] = {}
        from tokenomy._warn_once import WarnOnce

        self._warn = WarnOnce()  # one warning per error class per memory

    def __repr__(self) -> str:
        return (
            f"ConversationMemory(max_tokens={self.max_tokens!r}, max_turns={self.max_turns!r}, "
            f"model={self.model!r}, summarizer={self.summarizer!r}, evict_to={self.evict_to!r})"
        )

    # -- figures -----------------------------------------------------------------------------

    def stats(self, conversation: str | None = None) -> MemoryStats:
        """The running figures of ``conversation`` (a fresh, empty one if never seen)."""
        with self._lock:
            state = self._states.get(conversation)
        return state.stats if state is not None else MemoryStats(conversation=conversation)

    def conversations(self) -> list[str | None]:
        """The conversations this memory has figures for."""
        with self._lock:
            return list(self._states)

    def total(self) -> MemoryStats:
        """Every conversation's figures added up (``conversation`` ``None``; ``last_*`` and
        ``last_error`` are those of the conversation read last)."""
        out = MemoryStats()
        for conversation in self.conversations():
            out.merge(self.stats(conversation))
        return out

    def summary(self, conversation: str | None = None) -> str:
        """The running summary of ``conversation`` ("" when none)."""
        with self._lock:
            state = self._states.get(conversation)
        return state.summary if state is not None else ""

    def reset(self, conversation: str | None = None, *, all: bool = False) -> None:
        """Forget ``conversation``'s summary and figures (``all=True``: every conversation)."""
        with self._lock:
            if all:
                self._states.clear()
            else:
                self._states.pop(conversation, None)

    # -- counting ------------------------------------------------------------------------------

    def counter(self, model: str | None = None, provider: str | None = None) -> MessageCounter:
        """The (cached) :class:`MessageCounter` for this memory's model, else ``model``."""
        key = (self.model or model, self.provider or provider)
        found = self._counters.get(key)
        if found is None:
            found = self._counters.setdefault(key, MessageCounter(key[0], provider=key[1]))
        return found

    # -- reading a history -------------------------------------------------------------------

    def window(
        self,
        messages: Sequence[Message],
        *,
        conversation: str | None = None,
        model: str | None = None,
        provider: str | None = None,
    ) -> MemoryView:
        """Window ``messages`` (OpenAI-shape dicts); ``view.messages`` is what to send."""
        counter = self.counter(model, provider)
        infos = counter.infos(messages)
        view = self.select(
            infos, lambda a, b: messages[a:b], counter=counter, conversation=conversation
        )
        return with_messages(view, messages)

    async def awindow(
        self,
        messages: Sequence[Message],
        *,
        conversation: str | None = None,
        model: str | None = None,
        provider: str | None = None,
    ) -> MemoryView:
        """:meth:`window`, with the summary call awaited."""
        counter = self.counter(model, provider)
        infos = counter.infos(messages)
        view = await self.aselect(
            infos, lambda a, b: messages[a:b], counter=counter, conversation=conversation
        )
        return with_messages(view, messages)

    def select(
        self,
        infos: Sequence[MessageInfo],
        between: MessagesBetween,
        *,
        counter: MessageCounter,
        conversation: str | None = None,
        reserve: int = 0,
    ) -> MemoryView:
        """Window a history given as :class:`MessageInfo` (the integrations' entry point);
        ``between(a, b)`` returns messages ``a`` to ``b`` as dicts (only evicted ones are
        asked for, to summarise them); ``reserve``: budget tokens taken by something sent
        beside the history (a chat engine's system prompt and context)."""
        pending = self._begin(infos, between, counter, conversation, reserve)
        response: ModelResponse | None = None
        error: BaseException | None = None
        if pending.request is not None and self.summarizer is not None:
            try:
                response = self._pipeline().call(pending.request, self.summarizer.send)
            except Exception as exc:
                error = exc
        return self._finish(pending, response, error, conversation)

    async def aselect(
        self,
        infos: Sequence[MessageInfo],
        between: MessagesBetween,
        *,
        counter: MessageCounter,
        conversation: str | None = None,
        reserve: int = 0,
    ) -> MemoryView:
        """:meth:`select`, with the summary call awaited."""
        pending = self._begin(infos, between, counter, conversation, reserve)
        response: ModelResponse | None = None
        error: BaseException | None = None
        if pending.request is not None and self.summarizer is not None:
            try:
                response = await self._pipeline().acall(pending.request, self.summarizer.asend)
            except Exception as exc:
                error = exc
        return self._finish(pending, response, error, conversation)

    # -- as a policy ---------------------------------------------------------------------------

    def _conversation_of(self, request: ModelRequest) -> str | None:
        return request.tag(self.conversation_tag)

    def before(self, request: ModelRequest) -> ModelRequest:
        if request.kind != "chat" or not request.messages:
            return request
        view = self.window(
            request.messages,
            conversation=self._conversation_of(request),
            model=request.model,
            provider=request.provider,
        )
        return replaced(request, view)

    async def ahandle(self, request: ModelRequest, call_next: AsyncCallNext) -> ModelResponse:
        if request.kind == "chat" and request.messages:
            view = await self.awindow(
                request.messages,
                conversation=self._conversation_of(request),
                model=request.model,
                provider=request.provider,
            )
            request = replaced(request, view)
        return await call_next(request)

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        return call_next(self.before(request))

    # -- the steps -----------------------------------------------------------------------------

    def _pipeline(self) -> Any:
        from tokenomy.pipeline import Pipeline

        policies = self.summarizer.policies if self.summarizer is not None else ()
        return Pipeline(policies, ledger=self.ledger, price_book=self.price_book)

    def _state(self, conversation: str | None, infos: Sequence[MessageInfo]) -> State:
        with self._lock:
            state = self._states.get(conversation)
            if state is None:
                state = State(stats=MemoryStats(conversation=conversation))
                self._states[conversation] = state
                while len(self._states) > self.max_conversations:
                    self._states.popitem(last=False)
            else:
                self._states.move_to_end(conversation)
            floor = state.floor
            if floor and (len(infos) < floor or list(infos[:floor]) != state.prefix):
                # not the history that was summarised / windowed: start over (figures kept)
                state.summary, state.summary_tokens, state.folded, state.start = "", 0, 0, 0
                state.prefix = []
            return state

    def _plan(
        self,
        infos: Sequence[MessageInfo],
        counter: MessageCounter,
        reserve: int,
        floor: int,
        low: bool = False,
    ) -> WindowPlan:
        if low and self.max_tokens is not None and self.evict_to is not None:
            # refill only down to the low-water mark, so the next turns append; when the
            # current turn and the summary alone are over the mark, down to the least window
            # that holds them (jumping back to the full budget would slide one turn per call,
            # a summary call every turn)
            mark = max(1, int(self.max_tokens * self.evict_to))
            least = required_tokens(infos, priming=counter.priming) + reserve
            if least <= self.max_tokens:
                try:
                    return plan_window(
                        infos,
                        max_tokens=max(mark, least),
                        max_turns=self.max_turns,
                        reserve=reserve,
                        priming=counter.priming,
                        floor=floor,
                    )
                except MemoryBudgetError:
                    pass  # the full budget then
        return plan_window(
            infos,
            max_tokens=self.max_tokens,
            max_turns=self.max_turns,
            reserve=reserve,
            priming=counter.priming,
            floor=floor,
        )

    def _summary_overhead(self, counter: MessageCounter) -> int:
        return counter.count({"role": self.summary_role, "content": SUMMARY_PREFIX}) + _SLACK

    def _begin(
        self,
        infos: Sequence[MessageInfo],
        between: MessagesBetween,
        counter: MessageCounter,
        conversation: str | None,
        extra: int = 0,
    ) -> Pending:
        state = self._state(conversation, infos)
        if state.summary and self.max_tokens is not None:
            with self._lock:
                self._fit_summary(state, infos, counter, extra)
        floor = state.floor
        reserved = extra + state.summary_tokens
        plan = self._plan(infos, counter, reserved, floor)
        low = self.evict_to is not None and _has_turns(infos, floor, plan.start)
        if low:  # the window overflowed: evict down to the low-water mark at once
            plan = self._plan(infos, counter, reserved, floor, low=True)
        pending = Pending(
            state=state,
            infos=infos,
            counter=counter,
            plan=plan,
            extra=extra,
            reserved=reserved,
            low=low,
        )
        floor = state.folded
        if self.summarizer is None or not _has_turns(infos, floor, plan.start):
            return pending
        overhead = self._summary_overhead(counter)
        cap = self.summary_max_tokens
        if self.max_tokens is not None:  # the summary must fit beside the current turn
            needed = required_tokens(infos, priming=counter.priming) + extra
            cap = min(cap, self.max_tokens - needed - overhead)
        if cap < 1:  # no room for any summary: the evicted turns are dropped
            pending.cap = 0
            self._advance(pending)
            return pending
        reserve = extra + max(cap + overhead, state.summary_tokens)
        plan = pending.plan = self._plan(infos, counter, reserve, state.floor, low)
        evicted = [
            m
            for m in between(floor, plan.start)
            if str(m.get("role")) not in ("system", "developer")
        ]
        pending.evicted, pending.cap = len(evicted), cap
        pending.request = summary_request(
            state.summary,
            evicted,
            max_tokens=cap,
            summarizer=self.summarizer,
            conversation=conversation,
        )
        return pending

    def _fit_summary(
        self, state: State, infos: Sequence[MessageInfo], counter: MessageCounter, extra: int
    ) -> None:
        """Shorten the running summary to the room beside the current turn (a long new turn
        can leave less room than the summary was written for); none left: no summary."""
        assert self.max_tokens is not None
        overhead = self._summary_overhead(counter)
        room = self.max_tokens - required_tokens(infos, priming=counter.priming) - extra - overhead
        if state.summary_tokens <= room + overhead:
            return
        state.summary = counter.truncate(state.summary, room) if room >= 1 else ""
        state.summary_tokens = (
            counter.count({"role": self.summary_role, "content": SUMMARY_PREFIX + state.summary})
            if state.summary
            else 0
        )

    def _finish(
        self,
        pending: Pending,
        response: ModelResponse | None,
        error: BaseException | None,
        conversation: str | None,
    ) -> MemoryView:
        state, counter, infos = pending.state, pending.counter, pending.infos
        with self._lock:
            if pending.request is not None:
                self._fold(pending, response, error)
            summary_message = (
                {"role": self.summary_role, "content": SUMMARY_PREFIX + state.summary}
                if state.summary
                else None
            )
            reserved = pending.extra + state.summary_tokens
            plan = pending.plan
            if (
                pending.request is not None
                or reserved != pending.reserved
                or plan.start < state.floor
            ):
                plan = self._plan(infos, counter, reserved, state.floor, pending.low)
            if self.evict_to is not None and plan.start != state.start:
                state.start = plan.start
                state.remember(infos)
            sent = plan.tokens + state.summary_tokens
            model = counter.model
            state.stats.add_read(
                sent,
                plan.full_tokens,
                self._input_cost(model, counter.provider, sent),
                self._input_cost(model, counter.provider, plan.full_tokens),
            )
        return MemoryView(
            keep=plan.keep,
            start=plan.start,
            summary_message=summary_message,
            tokens=sent,
            full_tokens=plan.full_tokens,
            conversation=conversation,
            history_len=len(infos),
        )

    def _fold(
        self, pending: Pending, response: ModelResponse | None, error: BaseException | None
    ) -> None:
        state, counter = pending.state, pending.counter
        stats = state.stats
        text = None if response is None else response.text.strip()
        if error is not None or text is None:
            stats.summary_failures += 1
            stats.last_error = type(error).__name__ if error is not None else "NoResponse"
            self._warn(
                ("memory-summary", stats.last_error),
                f"tokenomy: a conversation summary failed ({stats.last_error}: {error}); the "
                f"evicted turns were {'dropped' if self.on_summary_error == 'drop' else 'kept for the next summary'}"
                " and the call went on (failures are counted in ConversationMemory.stats())",
            )
            if self.on_summary_error == "drop":
                self._advance(pending)
            return
        assert response is not None
        text = counter.truncate(text, pending.cap)
        state.summary = text
        state.summary_tokens = counter.count(
            {"role": self.summary_role, "content": SUMMARY_PREFIX + text}
        )
        record = response.record
        usage = record.usage if record is not None else response.usage
        stats.add_summary(
            record.cost_total if record is not None else None,
            usage.input if usage is not None else 0,
            usage.output if usage is not None else 0,
        )
        self._advance(pending)

    @staticmethod
    def _advance(pending: Pending) -> None:
        state = pending.state
        state.folded = pending.plan.start
        state.remember(pending.infos)
        state.stats.evicted += pending.evicted

    def _input_cost(self, model: str, provider: str | None, tokens: int) -> Decimal | None:
        key = (model, provider)
        entry = self._prices.get(key, False)
        if entry is False:
            book = self.price_book
            if book is None:
                from tokenomy.pricing import get_price_book

                book = get_price_book()
            resolved = book.resolve(model, provider)
            entry = None if resolved is None else (resolved, book.lookup(model, provider))
            self._prices[key] = entry
        if entry is None:
            return None
        from tokenomy.usage import Usage

        cost = entry[1].cost(Usage(input=tokens), model=entry[0])
        total: Decimal = cost.total
        return total


def _has_turns(infos: Sequence[MessageInfo], start: int, end: int) -> bool:
    return any(infos[i].role != "system" for i in range(start, end))
