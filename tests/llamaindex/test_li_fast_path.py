"""The usual call (``raw`` carrying an OpenAI chat-completions usage) is recorded by
``CallRecorder.end`` itself; these pin that record to the one the general path
(``CallRecorder._finish``) makes for the same events, and the fast usage reader to the core's."""

from __future__ import annotations

import inspect
import uuid
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from li_fakes import UsageLLM
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionStartEvent,
)
from openai.types.chat import ChatCompletion
from openai.types.completion_usage import CompletionUsage, PromptTokensDetails
from pydantic import BaseModel, ConfigDict

import tokenomy
import tokenomy_llamaindex as tli
from tokenomy import MemoryLedger, ModelPrice, PriceBook
from tokenomy.usage._fast import fast_openai_chat
from tokenomy.usage._openai import _full_openai_chat
from tokenomy_llamaindex import TokenomyEventHandler, TokenomySpanHandler, _calls
from tokenomy_llamaindex._usage import attr, openai_counts

OPENAI = {"class_name": "openai_llm", "model_name": "gpt-4o-mini"}
MESSAGES = [ChatMessage(role="user", content="hello")]
DETAILED = {
    "prompt_tokens": 2000,
    "completion_tokens": 300,
    "total_tokens": 2300,
    "prompt_tokens_details": {"cached_tokens": 1536, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 128, "audio_tokens": 0},
}
PLAIN = {"prompt_tokens": 61, "completion_tokens": 8, "total_tokens": 69}
BOUND = inspect.signature(lambda: None).bind()
# what differs between two records of the same call
NOT_COMPARED = {"record_id", "timestamp", "latency_ms"}


def _sdk_raw() -> ChatCompletion:
    return ChatCompletion.model_validate(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o-mini-2024-07-18",
            "service_tier": "default",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "hi there"},
                }
            ],
            "usage": DETAILED,
        }
    )


def _book(rate: int) -> PriceBook:
    return PriceBook.default().with_overrides(
        {"gpt-4o-mini": ModelPrice(input=Decimal(rate), output=Decimal(1))}
    )


@dataclass
class Case:
    """One call fed to the handler as events: a chat or a completion, its ``raw``, where it ran."""

    kind: str = "chat"
    raw: Callable[[], Any] = lambda: {"model": "gpt-4o-mini", "usage": PLAIN}
    model_dict: dict[str, Any] = field(default_factory=lambda: dict(OPENAI))
    span: str | None = "OpenAI.chat"  # None: no span id on the events
    parent: str | None = None  # the name of a root span enclosing the call's span
    block: dict[str, Any] | None = None  # tokenomy.track() keyword arguments
    block_ledger: bool = False  # the block gets a ledger of its own
    handler_book: bool = False  # the handler gets its own price book


CASES = {
    "completion, dict raw": Case(kind="completion", span="OpenAI.complete"),
    "chat, cached and reasoning tokens": Case(
        raw=lambda: {"model": "gpt-4o-mini", "usage": DETAILED, "object": "chat.completion"}
    ),
    "priority tier": Case(
        raw=lambda: {"model": "gpt-4o-mini", "service_tier": "priority", "usage": PLAIN}
    ),
    "tier not priced differently": Case(
        raw=lambda: {"model": "gpt-4o-mini", "service_tier": "default", "usage": PLAIN}
    ),
    "cache writes (cache_creation_tokens)": Case(
        raw=lambda: {
            "model": "gpt-4o-mini",
            "usage": {
                "prompt_tokens": 100,
                "completion_tokens": 5,
                "prompt_tokens_details": {"cache_creation_tokens": 40, "cached_tokens": None},
            },
        }
    ),
    "SDK ChatCompletion raw": Case(raw=_sdk_raw),
    "no model in raw: the LLM's": Case(
        raw=lambda: {"usage": PLAIN},
        model_dict={"class_name": "custom_llm", "model_name": "gpt-4o"},
    ),
    "empty model in raw, unknown LLM model": Case(
        raw=lambda: {"model": "", "usage": PLAIN},
        model_dict={"class_name": "custom_llm", "model_name": "unknown"},
    ),
    "nested span, in a named block with tags": Case(
        parent="RetrieverQueryEngine.query",
        block={"name": "nightly", "feature": "search", "user": "u1"},
    ),
    "a block's run_name tag wins": Case(parent="Agent.run", block={"run_name": "mine"}),
    "a block's ledger and price book win": Case(
        block={"price_book": _book(3)}, block_ledger=True, handler_book=True
    ),
    "the handler's price book, in a block without one": Case(
        block={"feature": "f"}, handler_book=True
    ),
    "no span id": Case(span=None, block={"feature": "f"}),
}


def _events(case: Case, span_id: str | None, response: Any) -> tuple[Any, Any]:
    if case.kind == "chat":
        return (
            LLMChatStartEvent(
                messages=MESSAGES,
                additional_kwargs={},
                model_dict=case.model_dict,
                span_id=span_id,
            ),
            LLMChatEndEvent(messages=MESSAGES, response=response, span_id=span_id),
        )
    return (
        LLMCompletionStartEvent(
            prompt="hello", additional_kwargs={}, model_dict=case.model_dict, span_id=span_id
        ),
        LLMCompletionEndEvent(prompt="hello", response=response, span_id=span_id),
    )


def _record(case: Case, ids: dict[str, str], monkeypatch: pytest.MonkeyPatch, general: bool) -> Any:
    """The record one handler makes of ``case``; ``general``: with the fast path disabled."""
    finished: list[Any] = []
    real_finish = _calls.CallRecorder._finish

    def finish(self: Any, *args: Any) -> None:
        finished.append(args)
        real_finish(self, *args)

    with monkeypatch.context() as m:
        m.setattr(_calls.CallRecorder, "_finish", finish)
        if general:
            m.setattr(_calls, "openai_counts", lambda usage: None)
        ledger = MemoryLedger()
        handler = TokenomyEventHandler(
            ledger=ledger, price_book=_book(2) if case.handler_book else None
        )
        spans = TokenomySpanHandler()
        span_id = None if case.span is None else ids[case.span]
        if case.parent is not None:
            spans.span_enter(id_=ids[case.parent], bound_args=BOUND)
        if span_id is not None:
            spans.span_enter(id_=span_id, bound_args=BOUND, parent_id=ids.get(case.parent or ""))
        if case.kind == "chat":
            response: Any = ChatResponse(
                message=ChatMessage(role="assistant", content="hi there"), raw=case.raw()
            )
        else:
            response = CompletionResponse(text="hi there", raw=case.raw())
        start, end = _events(case, span_id, response)
        store = MemoryLedger() if case.block_ledger else ledger
        block: AbstractContextManager[Any] = nullcontext()
        if case.block is not None:
            kwargs = {**case.block, "ledger": store} if case.block_ledger else case.block
            block = tokenomy.track(**kwargs)
        with block:
            handler.handle(start)
            handler.handle(end)
        for sid in (span_id, ids.get(case.parent or "")):
            if sid is not None:
                spans.span_exit(id_=sid, bound_args=BOUND)
    assert bool(finished) is general  # the path under test was the one taken
    (record,) = store.query()
    if store is not ledger:
        assert len(ledger) == 0
    return record


@pytest.fixture
def ids() -> dict[str, str]:
    """Span ids shared by the fast and the general run of a case."""
    names = ("OpenAI.chat", "OpenAI.complete", "RetrieverQueryEngine.query", "Agent.run")
    return {name: f"{name}-{uuid.uuid4()}" for name in names}


@pytest.mark.filterwarnings("ignore::tokenomy.exceptions.UnknownModelPriceWarning")
@pytest.mark.parametrize("name", list(CASES))
def test_fast_path_records_what_the_general_path_records(
    name: str, ids: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """For the usual call (usage in ``raw``), the record ``CallRecorder.end`` makes directly
    equals, field by field, the one ``_finish`` makes from the same events (model, provider,
    kind, usage, cost, tier, tags with run_name, run tree, name, streamed...), inside and
    outside ``track()`` blocks, whichever ledger and price book apply; the fast path is taken."""
    case = CASES[name]
    fast = _record(case, ids, monkeypatch, general=False)
    general = _record(case, ids, monkeypatch, general=True)
    skip = NOT_COMPARED | ({"run_id", "root_run_id"} if case.span is None else set())
    assert fast.model_dump(exclude=skip) == general.model_dump(exclude=skip)
    assert fast.latency_ms is not None and fast.latency_ms >= 0


@pytest.mark.parametrize(
    "usage",
    [
        PLAIN,
        DETAILED,
        {"prompt_tokens": 10},
        {"prompt_tokens": 10, "completion_tokens": None},
        {"prompt_tokens": 10, "completion_tokens": 2, "prompt_tokens_details": None},
        {"prompt_tokens": 10, "completion_tokens": 2, "prompt_tokens_details": {}},
        {
            "prompt_tokens": 10,
            "completion_tokens": 2,
            "prompt_tokens_details": {"cached_tokens": 4},
        },
        {"prompt_tokens": 10, "prompt_tokens_details": {"cache_write_tokens": 3}},
        {"prompt_tokens": 10, "prompt_tokens_details": {"cache_creation_tokens": 3}},
        {
            "prompt_tokens": 10,
            "prompt_tokens_details": {"cache_write_tokens": None, "cache_creation_tokens": 3},
        },
        {
            "prompt_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 6, "cache_write_tokens": 5},
        },
        {"prompt_tokens": 10, "completion_tokens": 2, "completion_tokens_details": {}},
        {"prompt_tokens": 10, "completion_tokens": 2, "completion_tokens_details": None},
        {
            "prompt_tokens": 10,
            "completion_tokens": 2,
            "completion_tokens_details": {"reasoning_tokens": 3},
        },
        {"prompt_tokens": 10.0, "completion_tokens": 2},
        {"prompt_tokens": True, "completion_tokens": 2},
        {"prompt_tokens": 10, "completion_tokens": "2"},
        {"prompt_tokens": 10, "completion_tokens": False},
        {"prompt_tokens": -1, "completion_tokens": 2},
        {"prompt_tokens": 10, "completion_tokens": -2},
        {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 1.5}},
        {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": -1}},
        {"prompt_tokens": 10, "completion_tokens_details": {"reasoning_tokens": "1"}},
        {"prompt_tokens": 10, "prompt_tokens_details": 7},
        {"prompt_tokens": None, "completion_tokens": 2},
        {"input_tokens": 10, "output_tokens": 2},
        {},
        CompletionUsage(prompt_tokens=20, completion_tokens=4, total_tokens=24),
        CompletionUsage.model_validate(DETAILED),
        CompletionUsage(
            prompt_tokens=20,
            completion_tokens=4,
            total_tokens=24,
            prompt_tokens_details=PromptTokensDetails.model_validate(
                {"cached_tokens": 2, "cache_creation_tokens": 5}
            ),
        ),
        _sdk_raw(),  # a whole response: the core's reader reads its attributes the same way
        "usage",
        12,
    ],
    ids=lambda u: repr(u)[:60],
)
def test_openai_counts_matches_the_full_parser(usage: Any) -> None:
    """openai_counts(u) (the core's fast reader, used by the handler's fast path) gives the
    full parser's counts for every shape it accepts, and None for every value it leaves to
    the full parser (floats, bools, strings, negatives, inconsistent cache or reasoning
    counts, other shapes); fast_openai_chat is the same reading as a Usage."""
    counts = openai_counts(usage)
    fast = fast_openai_chat(usage)
    assert counts == (None if fast is None else fast.as_tuple())
    if counts is not None:
        assert counts == _full_openai_chat(usage).as_tuple()
    else:
        valid_ints = isinstance(usage, dict) and all(
            type(v) is int and v >= 0
            for v in (usage.get("prompt_tokens"), usage.get("completion_tokens", 0))
        )
        details = usage.get("prompt_tokens_details") if isinstance(usage, dict) else None
        if valid_ints and not usage.get("completion_tokens_details") and not details:
            raise AssertionError(f"a plain valid usage was left to the full parser: {usage}")


def test_a_finished_call_keeps_no_reference_to_its_response(ledger: MemoryLedger) -> None:
    """Once a call ends with no other call in flight, the handler holds nothing of its
    response: only calls open when a response arrives can turn out to wrap it."""
    tli.instrument(ledger=ledger)
    llm = UsageLLM()
    response = llm.complete("x")
    ref = weakref.ref(response)
    del response
    assert ref() is None
    assert len(ledger) == 1


class _Extra(BaseModel):
    model_config = ConfigDict(extra="allow")
    field_set: int | None = None
    _private: int = 7

    @property
    def computed(self) -> int:
        return 3


class _Dynamic(BaseModel):
    def __getattr__(self, name: str) -> Any:
        if name == "dynamic":
            return 5
        return super().__getattr__(name)  # type: ignore[misc]


class _Plain:
    slot = 1

    def __init__(self) -> None:
        self.value = 2


@pytest.mark.parametrize(
    ("obj", "name"),
    [
        (_Extra(field_set=4), "field_set"),
        (_Extra(), "field_set"),
        (_Extra.model_validate({"cache_creation_tokens": 9}), "cache_creation_tokens"),
        (_Extra(), "cache_creation_tokens"),
        (_Extra(), "_private"),
        (_Extra(), "computed"),
        (_Dynamic(), "dynamic"),
        (_Dynamic(), "absent"),
        (_Plain(), "slot"),
        (_Plain(), "value"),
        (_Plain(), "absent"),
        ({"absent": 1}, "absent"),
        (None, "absent"),
        (_sdk_raw(), "service_tier"),
        (_sdk_raw().usage.prompt_tokens_details, "cache_creation_tokens"),
        (_sdk_raw().usage.prompt_tokens_details, "cached_tokens"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_attr_is_getattr_with_a_default(obj: Any, name: str) -> None:
    """attr(obj, name) is getattr(obj, name, None) for pydantic models (fields, extra values,
    private attributes, properties, a custom __getattr__, absent names) and anything else, the
    first time a type is seen and after."""
    assert attr(obj, name) == getattr(obj, name, None)
    assert attr(obj, name) == getattr(obj, name, None)
