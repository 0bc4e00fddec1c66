"""Anthropic messages through the real anthropic SDK against the simulator."""

from __future__ import annotations

import anthropic
import pytest

from tokenomy.testing import Answer, ProviderSimulator, ToolCall
from tokenomy.tokens import count_text, estimate_request
from tokenomy.usage import Usage

MODEL = "claude-sonnet-4-6"
MESSAGES = [{"role": "user", "content": "Name a prime number."}]
STREAM_EVENTS = [
    "message_start",
    "content_block_start",
    "ping",
    *["content_block_delta"] * 4,
    "content_block_stop",
    "message_delta",
    "message_stop",
]


def test_message_usage_matches_estimate_and_recorded_call(
    sim: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    """A non-streamed message: text block, end_turn, input tokens equal to tokenomy's
    estimate of the body, output tokens of the answer, no cache, standard tier; the recorded
    usage is the normalised equivalent."""
    sim.set_answer("Seven is prime.")
    m = claude.messages.create(model=MODEL, max_tokens=64, system="Be brief.", messages=MESSAGES)  # type: ignore[arg-type]
    assert m.type == "message" and m.role == "assistant"
    assert m.model == MODEL
    assert m.id.startswith("msg_")
    assert m.content[0].type == "text" and m.content[0].text == "Seven is prime."
    assert m.stop_reason == "end_turn"
    expected_input = estimate_request(sim.requests[-1].body, provider="anthropic").prompt_tokens
    assert m.usage.input_tokens == expected_input
    assert m.usage.output_tokens == count_text("Seven is prime.", MODEL) == 4
    assert m.usage.cache_read_input_tokens == m.usage.cache_creation_input_tokens == 0
    assert m.usage.cache_creation is not None
    assert m.usage.cache_creation.ephemeral_5m_input_tokens == 0
    assert m.usage.service_tier == "standard"
    call = sim.calls[-1]
    assert (call.provider, call.api, call.streamed) == ("anthropic", "messages", False)
    assert call.usage == Usage(input=expected_input, output=4)
    assert call.finish_reasons == ("end_turn",)


def test_stream_follows_the_real_event_sequence(
    sim: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    """stream=True yields message_start (input usage), content_block_start, ping, the text
    deltas, content_block_stop, message_delta (stop_reason and cumulative usage) and
    message_stop; the ping is filtered by the SDK but present on the wire."""
    sim.set_answer("Seven is prime.")
    events = list(
        claude.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    )
    assert [e.type for e in events] == [k for k in STREAM_EVENTS if k != "ping"]
    with claude.messages.with_streaming_response.create(
        model=MODEL,
        max_tokens=64,
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
    ) as raw:
        wire = [line[7:] for line in raw.iter_lines() if line.startswith("event: ")]
    assert wire == STREAM_EVENTS
    start = events[0].message  # type: ignore[union-attr]
    assert start.stop_reason is None and start.content == []
    assert start.usage.input_tokens == sim.calls[-1].usage.input
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")  # type: ignore[union-attr]
    assert text == "Seven is prime."
    delta = events[-2]
    assert delta.type == "message_delta"
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens == 4
    assert delta.usage.input_tokens == start.usage.input_tokens
    assert sim.calls[-1].streamed


def test_stream_helper_final_message_usage_equals_recorded_call(
    sim: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    """The SDK's messages.stream helper accumulates text and final usage matching the call."""
    sim.set_answer("Thirteen, also prime.")
    with claude.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:  # type: ignore[arg-type]
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Thirteen, also prime."
    usage = sim.calls[-1].usage
    assert final.usage.input_tokens == usage.input
    assert final.usage.output_tokens == usage.output == count_text(text, MODEL)


def test_tool_use_blocks_non_streamed_and_streamed(
    sim: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    """A scripted tool call is a tool_use block (toolu_ id, name, input) with stop_reason
    tool_use; streamed, input_json_delta pieces rebuild the input."""
    sim.script(
        Answer(text="Let me check.", tool_calls=(ToolCall("get_weather", {"city": "Oslo"}),)),
        ToolCall("get_weather", {"city": "Lima", "days": 3}),
    )
    tools = [
        {
            "name": "get_weather",
            "description": "Weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    m = claude.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES, tools=tools)  # type: ignore[arg-type]
    assert [b.type for b in m.content] == ["text", "tool_use"]
    block = m.content[1]
    assert block.type == "tool_use"
    assert block.id.startswith("toolu_")
    assert (block.name, block.input) == ("get_weather", {"city": "Oslo"})
    assert m.stop_reason == "tool_use"
    with claude.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES, tools=tools) as s:  # type: ignore[arg-type]
        final = s.get_final_message()
    assert final.content[0].type == "tool_use"
    assert final.content[0].input == {"city": "Lima", "days": 3}
    assert final.stop_reason == "tool_use"


def test_max_tokens_stops_with_max_tokens(
    sim: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    """An answer longer than max_tokens stops there with stop_reason max_tokens."""
    sim.set_answer("two three five seven eleven thirteen")
    m = claude.messages.create(model=MODEL, max_tokens=2, messages=MESSAGES)  # type: ignore[arg-type]
    assert m.stop_reason == "max_tokens"
    assert m.usage.output_tokens == 2
    assert m.content[0].text == "two three"  # type: ignore[union-attr]


def test_thinking_tokens_are_reported_in_output_tokens_details() -> None:
    """Configured reasoning tokens are added to output_tokens and reported as
    output_tokens_details.thinking_tokens, streamed in message_delta too."""
    with ProviderSimulator(answer="Yes.", reasoning_tokens={"claude-opus-*": 40}) as sim:
        client = anthropic.Anthropic(base_url=sim.anthropic_base_url, api_key="k", max_retries=0)
        m = client.messages.create(model="claude-opus-4-6", max_tokens=512, messages=MESSAGES)  # type: ignore[arg-type]
        assert m.usage.output_tokens == 40 + count_text("Yes.", "claude-opus-4-6")
        assert m.usage.output_tokens_details is not None
        assert m.usage.output_tokens_details.thinking_tokens == 40
        with client.messages.stream(
            model="claude-opus-4-6", max_tokens=512, messages=MESSAGES
        ) as s:  # type: ignore[arg-type]
            final = s.get_final_message()
        assert final.usage.output_tokens_details is not None
        assert final.usage.output_tokens_details.thinking_tokens == 40
        assert sim.calls[-1].usage.reasoning == 40
        client.close()


def test_count_tokens_endpoint(sim: ProviderSimulator, claude: anthropic.Anthropic) -> None:
    """/v1/messages/count_tokens returns the same prompt count a message call reports."""
    counted = claude.messages.count_tokens(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]
    m = claude.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)  # type: ignore[arg-type]
    assert counted.input_tokens == m.usage.input_tokens
    assert [c.api for c in sim.calls] == ["messages"]


def test_missing_max_tokens_is_a_bad_request(
    sim: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    """A body without max_tokens is rejected with Anthropic's invalid_request_error."""
    with pytest.raises(anthropic.BadRequestError) as info:
        claude.post("/v1/messages", body={"model": MODEL, "messages": MESSAGES}, cast_to=object)
    assert info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


async def test_async_client_streams(
    sim: ProviderSimulator, aclaude: anthropic.AsyncAnthropic
) -> None:
    """AsyncAnthropic non-streamed and streamed calls both work and are recorded."""
    sim.set_answer("Two.")
    m = await aclaude.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)  # type: ignore[arg-type]
    assert m.content[0].text == "Two."  # type: ignore[union-attr]
    async with aclaude.messages.stream(model=MODEL, max_tokens=16, messages=MESSAGES) as s:  # type: ignore[arg-type]
        text = "".join([t async for t in s.text_stream])
    assert text == "Two."
    assert [c.streamed for c in sim.calls] == [False, True]
