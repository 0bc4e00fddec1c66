"""TokenomyEventHandler fed real LlamaIndex instrumentation event objects by hand: usage from
``raw`` (SDK objects and dicts) and ``additional_kwargs``, model names, timing of streams,
failures, and the events it must ignore."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse
from llama_index.core.instrumentation.events.embedding import (
    EmbeddingEndEvent,
    EmbeddingStartEvent,
    SparseEmbeddingEndEvent,
    SparseEmbeddingStartEvent,
)
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionStartEvent,
    LLMPredictStartEvent,
)
from llama_index.core.prompts import PromptTemplate
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from tokenomy import MemoryLedger, Usage
from tokenomy.tokens import count_text
from tokenomy_llamaindex import TokenomyEventHandler, TokenomySpanHandler

MODEL_DICT = {"class_name": "openai_llm", "model_name": "gpt-4o-mini"}
MESSAGES = [ChatMessage(role="user", content="hello")]
USAGE = {
    "prompt_tokens": 2000,
    "completion_tokens": 300,
    "total_tokens": 2300,
    "prompt_tokens_details": {"cached_tokens": 1536},
    "completion_tokens_details": {"reasoning_tokens": 128},
}
EXPECTED = Usage(input=2000, output=300, cache_read=1536, reasoning=128)


def _span(name: str = "OpenAI.chat") -> str:
    return f"{name}-{uuid.uuid4()}"


def _handler(ledger: MemoryLedger) -> TokenomyEventHandler:
    TokenomySpanHandler()  # the tree exists; these tests feed spans by hand where needed
    return TokenomyEventHandler(ledger=ledger)


def _chunk(usage: dict[str, Any] | None, content: str | None = "hi", **extra: Any) -> Any:
    choices = [] if content is None else [{"index": 0, "delta": {"content": content}}]
    return ChatCompletionChunk.model_validate(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": choices,
            "usage": usage,
            **extra,
        }
    )


def _chat_response(raw: Any, **kwargs: Any) -> ChatResponse:
    return ChatResponse(
        message=ChatMessage(role="assistant", content="hi there"), raw=raw, **kwargs
    )


@pytest.fixture(autouse=True)
def _spans_seen() -> None:
    """The handler warns when no span was ever seen; these tests drive spans by hand."""
    from tokenomy_llamaindex._spans import TREE

    TREE.seen_any = True


def test_usage_from_an_sdk_chat_completion_in_raw(ledger: MemoryLedger) -> None:
    """A ChatCompletion SDK object in ``raw`` gives every count (cache reads, reasoning) and the
    provider's model name (the dated snapshot), which wins over the LLM's configured one."""
    handler, span = _handler(ledger), _span()
    raw = ChatCompletion.model_validate(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "hi there"},
                }
            ],
            "usage": USAGE,
        }
    )
    handler.handle(
        LLMChatStartEvent(
            messages=MESSAGES, additional_kwargs={}, model_dict=MODEL_DICT, span_id=span
        )
    )
    handler.handle(LLMChatEndEvent(messages=MESSAGES, response=_chat_response(raw), span_id=span))
    (record,) = ledger.query()
    assert record.usage == EXPECTED
    assert record.model == "gpt-4o-mini-2024-07-18"
    assert record.provider == "openai"
    assert record.run_id == span and record.root_run_id == span
    assert record.tags["run_name"] == "OpenAI.chat"
    assert not record.streamed and record.ttft_ms is None


def test_stream_usage_comes_from_the_final_chunk_and_ttft_is_measured(ledger: MemoryLedger) -> None:
    """A stream's usage is the final chunk's (``stream_options.include_usage``); time to first
    token is the time to the first InProgress event, latency the time to the End event."""
    handler, span = _handler(ledger), _span("OpenAI.stream_chat")
    handler.handle(
        LLMChatStartEvent(
            messages=MESSAGES, additional_kwargs={}, model_dict=MODEL_DICT, span_id=span
        )
    )
    time.sleep(0.05)
    pieces = [
        _chat_response(_chunk(None), delta="hi"),
        _chat_response(_chunk(USAGE, None), delta=""),
    ]
    for piece in pieces:
        handler.handle(LLMChatInProgressEvent(messages=MESSAGES, response=piece, span_id=span))
        time.sleep(0.05)
    handler.handle(LLMChatEndEvent(messages=MESSAGES, response=pieces[-1], span_id=span))
    (record,) = ledger.query()
    assert record.usage == EXPECTED and not record.estimated
    assert record.streamed
    assert record.ttft_ms is not None and 45 <= record.ttft_ms < record.latency_ms  # type: ignore[operator]
    assert record.latency_ms is not None and record.latency_ms >= 145


def test_usage_falls_back_to_additional_kwargs(ledger: MemoryLedger) -> None:
    """With no usable ``raw``, the prompt/completion counts llama-index-llms-openai copies into
    ``additional_kwargs`` are used (and the model comes from the LLM's metadata)."""
    handler, span = _handler(ledger), _span("OpenAI.complete")
    handler.handle(
        LLMCompletionStartEvent(
            prompt="hello", additional_kwargs={}, model_dict=MODEL_DICT, span_id=span
        )
    )
    response = CompletionResponse(
        text="hi", raw=None, additional_kwargs={"prompt_tokens": 10, "completion_tokens": 3}
    )
    handler.handle(LLMCompletionEndEvent(prompt="hello", response=response, span_id=span))
    (record,) = ledger.query()
    assert record.usage == Usage(input=10, output=3)
    assert record.model == "gpt-4o-mini"
    assert record.kind == "completion"


def test_priority_tier_reported_by_the_provider_is_kept(ledger: MemoryLedger) -> None:
    """``raw.service_tier == "priority"`` is recorded (and priced at that tier)."""
    handler, span = _handler(ledger), _span()
    handler.handle(
        LLMChatStartEvent(
            messages=MESSAGES, additional_kwargs={}, model_dict=MODEL_DICT, span_id=span
        )
    )
    raw = {"model": "gpt-4o-mini", "service_tier": "priority", "usage": USAGE}
    handler.handle(LLMChatEndEvent(messages=MESSAGES, response=_chat_response(raw), span_id=span))
    (record,) = ledger.query()
    assert record.service_tier == "priority"


@pytest.mark.filterwarnings("ignore::tokenomy.exceptions.UnknownModelPriceWarning")
@pytest.mark.filterwarnings("ignore::tokenomy.exceptions.EstimatedUsageWarning")
def test_no_model_anywhere_is_recorded_as_unknown_and_unpriced(ledger: MemoryLedger) -> None:
    """A call whose response and LLM name no model is kept as model "unknown", cost None."""
    handler, span = _handler(ledger), _span("Custom.chat")
    handler.handle(
        LLMChatStartEvent(
            messages=MESSAGES,
            additional_kwargs={},
            model_dict={"class_name": "custom", "model_name": "unknown"},
            span_id=span,
        )
    )
    handler.handle(LLMChatEndEvent(messages=MESSAGES, response=_chat_response(None), span_id=span))
    (record,) = ledger.query()
    assert record.model == "unknown" and record.cost is None and not record.priced
    assert record.estimated
    assert record.usage.output == count_text("hi there")


@pytest.mark.filterwarnings("ignore::tokenomy.exceptions.EstimatedUsageWarning")
def test_estimate_includes_openai_tool_definitions(ledger: MemoryLedger) -> None:
    """Without reported usage, a chat's prompt estimate counts the OpenAI-style tools passed
    to the call (more tokens than the same messages without tools)."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup_weather",
                "description": "Look up the weather for a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    handler = _handler(ledger)
    for extra in ({}, {"tools": tools}):
        span = _span()
        handler.handle(
            LLMChatStartEvent(
                messages=MESSAGES, additional_kwargs=extra, model_dict=MODEL_DICT, span_id=span
            )
        )
        handler.handle(
            LLMChatEndEvent(messages=MESSAGES, response=_chat_response(None), span_id=span)
        )
    plain, with_tools = ledger.query()
    assert with_tools.usage.input > plain.usage.input + 10
    assert plain.estimated and with_tools.estimated


@pytest.mark.filterwarnings("ignore::tokenomy.exceptions.EstimatedUsageWarning")
def test_a_stream_broken_midway_is_recorded_with_its_error(ledger: MemoryLedger) -> None:
    """ExceptionEvent after some pieces: the pieces received were billed, so the call is
    recorded (estimated from the text so far) with ``error`` = the exception's class name."""
    handler, span = _handler(ledger), _span("OpenAI.stream_chat")
    handler.handle(
        LLMChatStartEvent(
            messages=MESSAGES, additional_kwargs={}, model_dict=MODEL_DICT, span_id=span
        )
    )
    piece = _chat_response(_chunk(None), delta="hi")
    handler.handle(LLMChatInProgressEvent(messages=MESSAGES, response=piece, span_id=span))
    handler.handle(ExceptionEvent(exception=ConnectionError("reset"), span_id=span))
    (record,) = ledger.query()
    assert record.error == "ConnectionError"
    assert record.estimated and record.usage.output == count_text("hi there")
    assert not handler.recorder._open


def test_unrelated_and_sparse_embedding_events_are_ignored(ledger: MemoryLedger) -> None:
    """Events other than LLM/embedding calls, and sparse embeddings (computed locally, never
    billed), make no record; unmatched End events are ignored too."""
    handler, span = _handler(ledger), _span("X.embed")
    handler.handle(LLMPredictStartEvent(template=PromptTemplate("hi {x}"), template_args={"x": 1}))
    handler.handle(SparseEmbeddingStartEvent(model_dict={"model_name": "bm25"}, span_id=span))
    handler.handle(SparseEmbeddingEndEvent(chunks=["a b"], embeddings=[{1: 0.5}], span_id=span))
    handler.handle(EmbeddingEndEvent(chunks=["a"], embeddings=[[0.1]], span_id=span))
    handler.handle(LLMChatEndEvent(messages=MESSAGES, response=None, span_id=_span()))
    assert len(ledger) == 0


def test_embedding_batches_pair_with_their_starts(ledger: MemoryLedger) -> None:
    """Async batch embedding emits every start before any end: each end is paired with the
    oldest pending start of its span, one record per batch, tokens counted in cl100k_base with
    newlines sent as spaces (what OpenAIEmbedding sends)."""
    handler, span = _handler(ledger), _span("OpenAIEmbedding.aget_text_embedding_batch")
    small = {"class_name": "OpenAIEmbedding", "model_name": "text-embedding-3-small"}
    large = {"class_name": "OpenAIEmbedding", "model_name": "text-embedding-3-large"}
    handler.handle(EmbeddingStartEvent(model_dict=small, span_id=span))
    handler.handle(EmbeddingStartEvent(model_dict=large, span_id=span))
    handler.handle(
        EmbeddingEndEvent(chunks=["one\ntwo", "three"], embeddings=[[0.1]] * 2, span_id=span)
    )
    handler.handle(EmbeddingEndEvent(chunks=["four"], embeddings=[[0.1]], span_id=span))
    first, second = ledger.query()
    assert first.model == "text-embedding-3-small" and second.model == "text-embedding-3-large"
    expected = count_text("one two", "text-embedding-3-small") + count_text(
        "three", "text-embedding-3-small"
    )
    assert first.usage == Usage(input=expected, estimated=True)
    assert first.kind == "embedding" and first.estimated and first.priced
    assert first.parent_run_id == span and first.run_id != second.run_id
    assert not handler.recorder._embeds


@pytest.mark.filterwarnings("ignore::tokenomy.exceptions.EstimatedUsageWarning")
def test_an_anthropic_llm_without_usage_is_estimated_with_the_anthropic_rules(
    ledger: MemoryLedger,
) -> None:
    """An Anthropic LLM's call reporting no usage: the prompt is counted as the Anthropic body
    it was (system apart, a tool_use and a tool_result block), not with OpenAI's chat rules."""
    from llama_index.core.base.llms.types import ToolCallBlock

    from tokenomy.tokens import estimate_messages, estimate_request

    messages = [
        ChatMessage(role="system", content="You are terse."),
        ChatMessage(role="user", content="Weather in Paris?"),
        ChatMessage(
            role="assistant",
            blocks=[
                ToolCallBlock(tool_call_id="t1", tool_name="weather", tool_kwargs={"city": "Paris"})
            ],
        ),
        ChatMessage(role="tool", content="18C", additional_kwargs={"tool_call_id": "t1"}),
    ]
    model_dict = {"class_name": "Anthropic_LLM", "model": "claude-sonnet-4-5"}
    handler, span = _handler(ledger), _span("Anthropic.chat")
    handler.handle(
        LLMChatStartEvent(
            messages=messages, additional_kwargs={}, model_dict=model_dict, span_id=span
        )
    )
    handler.handle(LLMChatEndEvent(messages=messages, response=_chat_response(None), span_id=span))
    (record,) = ledger.query()
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1,
        "system": "You are terse.",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Paris"}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "18C"}],
            },
        ],
    }
    assert record.provider == "anthropic" and record.estimated
    assert record.usage.input == estimate_request(body, provider="anthropic").prompt_tokens
    openai_dicts = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "weather", "arguments": {"city": "Paris"}}}],
        },
        {"role": "tool", "content": "18C"},
    ]
    assert record.usage.input != estimate_messages(openai_dicts, "claude-sonnet-4-5").prompt_tokens
    assert record.usage.output == count_text("hi there")


@pytest.mark.filterwarnings("ignore::tokenomy.exceptions.EstimatedUsageWarning")
def test_estimate_counts_openai_tool_calls_and_results_in_the_messages(
    ledger: MemoryLedger,
) -> None:
    """Tool calls kept in ``additional_kwargs["tool_calls"]`` (llama-index-llms-openai) and the
    tool's answer count toward the prompt estimate, as the OpenAI chat rules count them."""
    from tokenomy.tokens import estimate_messages

    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
    }
    messages = [
        ChatMessage(role="user", content="Weather in Paris?"),
        ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": [call]}),
        ChatMessage(role="tool", content="18C", additional_kwargs={"tool_call_id": "c1"}),
    ]
    handler, span = _handler(ledger), _span()
    handler.handle(
        LLMChatStartEvent(
            messages=messages, additional_kwargs={}, model_dict=MODEL_DICT, span_id=span
        )
    )
    handler.handle(LLMChatEndEvent(messages=messages, response=_chat_response(None), span_id=span))
    (record,) = ledger.query()
    dicts = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "content": "18C", "tool_call_id": "c1"},
    ]
    assert record.usage.input == estimate_messages(dicts, "gpt-4o-mini").prompt_tokens
    assert record.usage.input > estimate_messages(dicts[:1], "gpt-4o-mini").prompt_tokens + 10


def test_a_finished_call_keeps_no_reference_to_its_response(ledger: MemoryLedger) -> None:
    """Once a call ends with no other call in flight, the handler holds nothing of its
    response: only calls open when a response arrives can turn out to wrap it."""
    import weakref

    from li_fakes import UsageLLM

    import tokenomy_llamaindex as tli

    tli.instrument(ledger=ledger)
    llm = UsageLLM()
    response = llm.complete("x")
    ref = weakref.ref(response)
    del response
    assert ref() is None
    assert len(ledger) == 1
