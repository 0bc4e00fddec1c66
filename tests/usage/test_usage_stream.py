"""StreamUsage: the usage of a stream is read where each format reports it, never added twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tokenomy.exceptions import UsageParseError
from tokenomy.usage import StreamUsage, Usage, parse_response
from tokenomy.usage._response import read_events

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "usage"


def _events(name: str) -> list[Any]:
    events, streamed = read_events((FIXTURES / name).read_text(encoding="utf-8"))
    assert streamed
    return events


def _feed(events: list[Any]) -> StreamUsage:
    stream = StreamUsage()
    for event in events:
        stream.feed(event)
    return stream


def test_anthropic_delta_counts_replace_start_counts_instead_of_adding() -> None:
    """message_delta repeats input 12, 2000 written and 3000 read: the prompt stays 5012 (not
    10024) and the output is the delta's cumulative 312 (not 312 + message_start's 1)."""
    stream = _feed(_events("anthropic-stream-cache.sse"))
    assert stream.require_usage() == Usage(
        input=5012, output=312, cache_read=3000, cache_write_1h=2000
    )
    assert (stream.model, stream.finish_reason, stream.service_tier) == (
        "claude-sonnet-4-5-20250929",
        "end_turn",
        "standard",
    )


def test_anthropic_sdk_event_objects_are_accepted() -> None:
    """The anthropic SDK's stream event objects give the same usage as their dicts."""
    from anthropic.types import RawMessageDeltaEvent, RawMessageStartEvent

    dicts = [e for e in _events("anthropic-stream-cache.sse") if isinstance(e, dict)]
    start = next(e for e in dicts if e["type"] == "message_start")
    delta = next(e for e in dicts if e["type"] == "message_delta")
    sdk = [RawMessageStartEvent.model_validate(start), RawMessageDeltaEvent.model_validate(delta)]
    assert _feed(sdk).require_usage() == _feed(dicts).require_usage()


def test_a_stream_cut_short_reports_the_usage_so_far() -> None:
    """An Anthropic stream stopped after message_start has its prompt counted (5012) and the
    1 output token reported so far; the partial usage is never zero."""
    events = [e for e in _events("anthropic-stream-cache.sse") if e.get("type") == "message_start"]
    usage = _feed(events).usage()
    assert usage == Usage(input=5012, output=1, cache_read=3000, cache_write_1h=2000)


def test_openai_chat_stream_takes_the_final_usage_chunk() -> None:
    """A JSON list of chunks: the last chunk's usage (1300 prompt, 1152 cached, 210 output, 192
    reasoning), and the finish_reason of the choice chunk."""
    parsed = parse_response((FIXTURES / "openai-chat-stream-chunks.json").read_bytes())
    assert parsed.streamed
    assert parsed.usage == Usage(input=1300, output=210, cache_read=1152, reasoning=192)
    assert (parsed.api, parsed.finish_reason, parsed.response_id) == (
        "chat.completions",
        "stop",
        "chatcmpl-fixture-stream",
    )


def test_openai_chat_stream_without_include_usage_says_so() -> None:
    """Chunks without a usage chunk raise UsageParseError that names include_usage."""
    events = json.loads((FIXTURES / "openai-chat-stream-chunks.json").read_text())[:-1]
    stream = _feed(events)
    assert stream.usage() is None
    with pytest.raises(UsageParseError, match="3 events") as info:
        stream.result()
    assert "include_usage" in str(info.value)


def test_openai_chat_continuous_usage_keeps_the_latest_not_the_sum() -> None:
    """Gateways that send cumulative usage on every chunk: the last one counts (30 + 9)."""
    chunks = [
        {"object": "chat.completion.chunk", "model": "m", "choices": [],
         "usage": {"prompt_tokens": 30, "completion_tokens": n, "total_tokens": 30 + n}}
        for n in (1, 5, 9)
    ]  # fmt: skip
    assert _feed(chunks).require_usage() == Usage(input=30, output=9)


def test_responses_stream_incomplete_and_failed_events_carry_usage() -> None:
    """response.incomplete's usage counts and its reason is the finish_reason;
    response.failed's usage counts too and its error is kept."""
    base = {"object": "response", "model": "gpt-5.5", "id": "resp_1", "service_tier": "auto"}
    usage = {
        "input_tokens": 18,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 16,
        "output_tokens_details": {"reasoning_tokens": 6},
        "total_tokens": 34,
    }
    created = {"type": "response.created", "response": {**base, "status": "in_progress"}}
    incomplete = {
        "type": "response.incomplete",
        "response": {
            **base,
            "service_tier": "default",
            "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "usage": usage,
        },
    }
    stream = _feed([created, incomplete])
    assert stream.require_usage() == Usage(input=18, output=16, reasoning=6)
    assert (stream.finish_reason, stream.service_tier) == ("max_output_tokens", "default")
    failed = {
        "type": "response.failed",
        "response": {**base, "status": "failed", "error": {"message": "boom"}, "usage": usage},
    }
    stream = _feed([created, failed])
    assert stream.require_usage().input == 18
    assert (stream.finish_reason, stream.error) == ("failed", "boom")


def test_responses_stream_that_only_started_has_no_usage() -> None:
    """response.created alone (usage null) reports no usage rather than zero."""
    created = {"type": "response.created", "response": {"object": "response", "usage": None}}
    with pytest.raises(UsageParseError, match="reports no usage"):
        _feed([created]).require_usage()


def test_gemini_stream_keeps_the_last_cumulative_metadata() -> None:
    """Each Gemini chunk repeats the counts so far: 40 prompt, 57 candidates + 100 thoughts,
    not the 1 + 12 + 57 candidates summed over chunks."""
    parsed = parse_response((FIXTURES / "gemini-stream.sse").read_text())
    assert parsed.usage == Usage(input=40, output=157, reasoning=100)
    assert (parsed.api, parsed.finish_reason, parsed.model) == (
        "gemini",
        "STOP",
        "gemini-2.5-flash",
    )


def test_bedrock_converse_stream_reads_the_metadata_event() -> None:
    """ConverseStream's metadata event: 30 + 1000 read input tokens, 7 output."""
    parsed = parse_response((FIXTURES / "bedrock-converse-stream.json").read_text())
    assert parsed.usage == Usage(input=1030, output=7, cache_read=1000)
    assert (parsed.api, parsed.finish_reason, parsed.model) == ("bedrock", "end_turn", None)


def test_bedrock_invoke_stream_chunks_and_metrics() -> None:
    """InvokeModelWithResponseStream chunks (base64 JSON bytes) of an Anthropic model are read
    as Anthropic events; the invocation metrics stand in when no event carries usage."""
    import base64

    def chunk(event: dict[str, Any]) -> dict[str, Any]:
        return {"chunk": {"bytes": base64.b64encode(json.dumps(event).encode()).decode()}}

    metrics = {"inputTokenCount": 25, "outputTokenCount": 4, "cacheReadInputTokenCount": 5}
    events = [
        chunk({"type": "message_start", "message": {"model": "claude", "usage": None}}),
        chunk({"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics}),
    ]
    parsed = parse_response(events, provider="bedrock")
    assert (parsed.provider, parsed.api) == ("bedrock", "messages")
    assert parsed.usage == Usage(input=30, output=4, cache_read=5)


def test_error_event_is_reported_when_no_usage_came() -> None:
    """An Anthropic stream that ends in an error event names the error in the exception."""
    events = [{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}]
    with pytest.raises(UsageParseError, match="Overloaded"):
        _feed(events).require_usage()
