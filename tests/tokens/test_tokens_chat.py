"""OpenAI chat bodies: the cookbook rule on plain text, estimates flagged for everything else."""

from __future__ import annotations

from typing import Any

import pytest

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens import estimate_messages, estimate_request, get_encoding

MESSAGES = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant."},
    {"role": "user", "content": "Translate: 'The sky is blue' into French."},
    {"role": "assistant", "content": "Le ciel est bleu."},
    {"role": "user", "name": "example_user", "content": "And into German?"},
]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather at a location.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "City name"}},
            "required": ["location"],
        },
    },
}


def cookbook(
    messages: list[dict[str, Any]], encoding: str, *, per_message: int = 3, per_name: int = 1
) -> int:
    """The OpenAI cookbook's num_tokens_from_messages, written out independently."""
    enc = get_encoding(encoding)
    total = 0
    for message in messages:
        total += per_message
        for key, value in message.items():
            total += len(enc.encode(value))
            if key == "name":
                total += per_name
    return total + 3


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("o3-mini", "o200k_base"),
    ],
)
def test_plain_text_follows_the_cookbook_rule(model: str, encoding: str) -> None:
    """Plain-text chat requests count 3 per message, their strings, 1 per name, 3 priming."""
    est = estimate_messages(MESSAGES, model)
    assert est.prompt_tokens == cookbook(MESSAGES, encoding)
    assert (est.estimated, est.encoding, est.method) == (False, encoding, "openai-chat")


def test_gpt_35_turbo_0301_uses_4_and_minus_1() -> None:
    """gpt-3.5-turbo-0301 used 4 tokens per message and -1 per name."""
    est = estimate_messages(MESSAGES, "gpt-3.5-turbo-0301")
    assert est.prompt_tokens == cookbook(MESSAGES, "cl100k_base", per_message=4, per_name=-1)


def test_harmony_family_primes_with_two_and_tags_assistant_turns() -> None:
    """gpt-5+ models prime the reply with 2 tokens and add 2 per earlier assistant turn."""
    assistants = sum(m["role"] == "assistant" for m in MESSAGES)
    for model in ("gpt-5", "gpt-5.5", "gpt-5-nano", "gpt-6-astra"):
        est = estimate_messages(MESSAGES, model)
        assert est.prompt_tokens == cookbook(MESSAGES, "o200k_base") - 1 + 2 * assistants
        assert not est.estimated


def test_text_parts_count_like_their_text() -> None:
    """Content given as a list of text parts costs the tokens of each part, nothing more."""
    enc = get_encoding("o200k_base")
    parts = [{"type": "text", "text": "Describe the sky."}, {"type": "text", "text": " Briefly."}]
    as_parts = estimate_messages([{"role": "user", "content": parts}], "gpt-4o")
    plain = estimate_messages([{"role": "user", "content": ""}], "gpt-4o")
    assert as_parts.prompt_tokens == plain.prompt_tokens + sum(
        len(enc.encode(p["text"])) for p in parts
    )
    assert not as_parts.estimated


def test_request_body_equals_estimate_messages() -> None:
    """estimate_request on a chat body is estimate_messages of its messages and tools."""
    body = {"model": "gpt-4o", "messages": MESSAGES, "tools": [WEATHER_TOOL], "temperature": 0}
    assert estimate_request(body) == estimate_messages(MESSAGES, "gpt-4o", tools=[WEATHER_TOOL])


def test_tools_make_an_estimate_that_grows_with_the_tools() -> None:
    """Tool definitions add tokens, flag the result estimated and name 'tools' in the method."""
    plain = estimate_messages(MESSAGES, "gpt-4o")
    one = estimate_messages(MESSAGES, "gpt-4o", tools=[WEATHER_TOOL])
    second = {"type": "function", "function": {**WEATHER_TOOL["function"], "name": "get_forecast"}}  # type: ignore[dict-item]
    two = estimate_messages(MESSAGES, "gpt-4o", tools=[WEATHER_TOOL, second])
    assert plain.prompt_tokens < one.prompt_tokens < two.prompt_tokens
    assert one.estimated
    assert one.method == "openai-chat+tools"


def test_legacy_functions_count_as_tools() -> None:
    """The deprecated 'functions' field is counted like the same tools."""
    body = {"model": "gpt-4o", "messages": MESSAGES}
    with_functions = estimate_request({**body, "functions": [WEATHER_TOOL["function"]]})
    with_tools = estimate_request({**body, "tools": [WEATHER_TOOL]})
    assert with_functions == with_tools


def test_tool_calls_and_tool_results_are_estimated() -> None:
    """An assistant tool call and the tool's answer are counted and flagged."""
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 21 C"},
    ]
    est = estimate_messages(messages, "gpt-4o", tools=[WEATHER_TOOL])
    assert est.estimated
    assert est.method == "openai-chat+tool-calls+tool-results+tools"
    shorter = estimate_messages(messages[:1], "gpt-4o", tools=[WEATHER_TOOL])
    assert est.prompt_tokens > shorter.prompt_tokens + len(
        get_encoding("o200k_base").encode("Sunny, 21 C")
    )


def test_images_are_estimated_and_low_detail_is_cheaper() -> None:
    """Image parts flag the estimate; detail=low costs less than detail=high."""

    def with_image(detail: str) -> int:
        part = {
            "type": "image_url",
            "image_url": {"url": "https://example.com/a.png", "detail": detail},
        }
        est = estimate_messages([{"role": "user", "content": [part]}], "gpt-4o")
        assert est.estimated
        assert est.method == "openai-chat+images"
        return est.prompt_tokens

    assert with_image("low") < with_image("high")


def test_file_payloads_are_not_counted_as_text() -> None:
    """A base64 file part is flagged, and its payload is not tokenized as if it were text."""
    part = {
        "type": "file",
        "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64," + "A" * 40000},
    }
    est = estimate_messages([{"role": "user", "content": [part]}], "gpt-4o")
    assert est.estimated
    assert "+file" in est.method
    assert est.prompt_tokens < 100


def test_json_schema_response_format_is_estimated_json_object_is_free() -> None:
    """A json_schema response_format adds its schema (estimate); json_object adds nothing."""
    body = {"model": "gpt-4o", "messages": MESSAGES}
    plain = estimate_request(body)
    as_object = estimate_request({**body, "response_format": {"type": "json_object"}})
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "Answer",
            "schema": {"type": "object", "properties": {"text": {"type": "string"}}},
        },
    }
    with_schema = estimate_request({**body, "response_format": schema})
    assert as_object == plain
    assert with_schema.estimated
    assert with_schema.method == "openai-chat+response-format"
    assert with_schema.prompt_tokens > plain.prompt_tokens


@pytest.mark.parametrize(
    "messages",
    ["hello", [1, 2], [{"role": "user", "content": 5}], [{"role": "user", "content": [3]}]],
)
def test_malformed_messages_raise_typed_errors(messages: Any) -> None:
    """Messages that are not dicts with string/part content raise TokenCountError."""
    with pytest.raises(TokenCountError):
        estimate_messages(messages, "gpt-4o")


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [{"role": "user", "content": "hi"}]},
        {"model": "gpt-4o", "messages": "hi"},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "tools": "nope"},
        {
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": 3}],
        },
    ],
)
def test_malformed_chat_bodies_raise_typed_errors(body: dict[str, Any]) -> None:
    """Bodies without a model, with non-list messages or odd tools raise TokenCountError."""
    with pytest.raises(TokenCountError):
        estimate_request(body)
