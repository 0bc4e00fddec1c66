"""tokenomy.tokens.estimate_call: the one estimate of a call whose provider reported no usage,
on provider-neutral OpenAI-shaped messages, counted with OpenAI's or Anthropic's rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tokenomy import Usage
from tokenomy.tokens import count_text, estimate_call, estimate_messages, estimate_request

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Look up the weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ANTHROPIC_WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Look up the weather for a city.",
    "input_schema": WEATHER_TOOL["function"]["parameters"],  # type: ignore[index]
}
# A tool loop in OpenAI chat shape: the assistant called a tool, the tool answered.
TOOL_LOOP: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
]


def test_plain_openai_messages_count_as_the_chat_rules() -> None:
    """Plain text messages: input is estimate_messages' exact count, output the text's tokens,
    and the usage is flagged estimated."""
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}]
    usage = estimate_call(messages, "Hello there.", model="gpt-4o-mini")
    assert usage == Usage(
        input=estimate_messages(messages, "gpt-4o-mini").prompt_tokens,
        output=count_text("Hello there.", "gpt-4o-mini"),
        estimated=True,
    )


def test_openai_tool_calls_tool_results_and_tools_are_counted() -> None:
    """A tool loop with tool definitions counts as estimate_messages of the same request: more
    than the plain messages alone."""
    usage = estimate_call(TOOL_LOOP, "It is 18C.", model="gpt-4o", tools=[WEATHER_TOOL])
    expected = estimate_messages(TOOL_LOOP, "gpt-4o", tools=[WEATHER_TOOL]).prompt_tokens
    plain = estimate_messages(TOOL_LOOP[:2], "gpt-4o").prompt_tokens
    assert usage.input == expected and expected > plain + 20


def test_anthropic_shaped_tools_count_for_an_openai_call() -> None:
    """Tools given in Anthropic's input_schema shape are counted as the same function tool."""
    a = estimate_call(TOOL_LOOP, None, model="gpt-4o", tools=[ANTHROPIC_WEATHER_TOOL])
    b = estimate_call(TOOL_LOOP, None, model="gpt-4o", tools=[WEATHER_TOOL])
    assert a.input == b.input and a.output == 0


def test_output_counts_tool_call_names_and_arguments() -> None:
    """An assistant message as output: its text, then each tool call's name and arguments
    (a JSON string as sent, or a dict as compact JSON)."""
    output = {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {"function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"function": {"name": "get_time", "arguments": {"tz": "CET"}}},
        ],
    }
    usage = estimate_call([{"role": "user", "content": "x"}], output, model="gpt-4o")
    text = 'Checking.get_weather{"city": "Paris"}get_time' + json.dumps(
        {"tz": "CET"}, separators=(",", ":")
    )
    assert usage.output == count_text(text, "gpt-4o")
    assert usage.output > count_text("Checking.", "gpt-4o")


def test_anthropic_provider_counts_with_the_anthropic_rules() -> None:
    """provider="anthropic": the OpenAI-shaped tool loop is counted as the Anthropic body it
    stands for (system, a tool_use block, a tool_result block in a user turn, input_schema
    tools), which is not what the OpenAI rules give."""
    usage = estimate_call(
        TOOL_LOOP,
        "It is 18C.",
        model="claude-sonnet-4-5",
        provider="anthropic",
        tools=[WEATHER_TOOL],
    )
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1,
        "system": "You are terse.",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "call_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "18C and sunny"}
                ],
            },
        ],
        "tools": [ANTHROPIC_WEATHER_TOOL],
    }
    assert usage.input == estimate_request(body, provider="anthropic").prompt_tokens
    openai_rules = estimate_call(TOOL_LOOP, None, model="claude-sonnet-4-5", tools=[WEATHER_TOOL])
    assert usage.input != openai_rules.input
    assert usage.output == count_text("It is 18C.", "claude-sonnet-4-5") and usage.estimated


def test_anthropic_parallel_tool_results_share_one_user_turn() -> None:
    """Two tool results in a row become one user turn of two tool_result blocks, as the
    Anthropic API takes them (one message's framing, not two)."""
    calls = [
        {"id": f"c{i}", "function": {"name": "get_weather", "arguments": "{}"}} for i in (1, 2)
    ]
    messages = [
        {"role": "user", "content": "Both?"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "c1", "content": "a"},
        {"role": "tool", "tool_call_id": "c2", "content": "b"},
    ]
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 1,
        "messages": [
            {"role": "user", "content": "Both?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": f"c{i}", "name": "get_weather", "input": {}}
                    for i in (1, 2)
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "c1", "content": "a"},
                    {"type": "tool_result", "tool_use_id": "c2", "content": "b"},
                ],
            },
        ],
    }
    usage = estimate_call(messages, "", model="claude-haiku-4-5", provider="anthropic")
    assert usage.input == estimate_request(body, provider="anthropic").prompt_tokens


def test_anthropic_plain_messages_match_the_anthropic_body() -> None:
    """Plain text: system messages go to ``system``, the rest are Anthropic turns unchanged."""
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "Write a haiku."}]
    usage = estimate_call(messages, None, model=None, provider="anthropic")
    body = {"model": "claude", "max_tokens": 1, "system": "S", "messages": messages[1:]}
    assert usage.input == estimate_request(body, provider="anthropic").prompt_tokens


def test_a_prompt_string_counts_as_text_and_none_as_nothing() -> None:
    """A completion prompt is its text's tokens; no messages is zero prompt tokens; no model
    counts in o200k_base (gpt-4o's encoding)."""
    assert estimate_call("count these words", "ok", model=None) == Usage(
        input=count_text("count these words", "gpt-4o"), output=count_text("ok"), estimated=True
    )
    assert estimate_call(None, None, model="gpt-4o") == Usage(estimated=True)


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": 42}],
        ["not a dict"],
        [{"role": "user", "content": [object()]}],
    ],
)
def test_never_raises_on_what_it_cannot_count(messages: Any) -> None:
    """An estimate is best effort: unreadable messages count zero, the output still counts."""
    for provider in (None, "anthropic"):
        usage = estimate_call(messages, "fine", model="gpt-4o", provider=provider)
        assert usage.estimated and usage.output == count_text("fine")


def test_unusable_tools_fall_back_to_the_messages() -> None:
    """Tool definitions that cannot be rendered are left out rather than losing the prompt."""
    messages = [{"role": "user", "content": "hello"}]
    usage = estimate_call(
        messages, None, model="gpt-4o", tools=[{"type": "function", "function": 3}]
    )
    assert usage.input == estimate_messages(messages, "gpt-4o").prompt_tokens
