"""OpenAI Responses bodies: instructions and input items counted with the chat rule."""

from __future__ import annotations

from typing import Any

import pytest

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens import estimate_messages, estimate_request, request_format


def _body(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-5.5", "input": "Count to three.", **extra}


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-5.5", "gpt-4"])
def test_string_input_counts_like_one_user_message(model: str) -> None:
    """input="..." costs what the same text as one chat user message costs."""
    body = {"model": model, "input": "Count to three."}
    chat = estimate_messages([{"role": "user", "content": "Count to three."}], model)
    est = estimate_request(body)
    assert est.prompt_tokens == chat.prompt_tokens
    assert (est.estimated, est.method) == (False, "openai-responses")


def test_instructions_are_a_developer_message() -> None:
    """instructions cost what a developer message with that text costs."""
    est = estimate_request(_body(instructions="You are terse."))
    chat = estimate_messages(
        [
            {"role": "developer", "content": "You are terse."},
            {"role": "user", "content": "Count to three."},
        ],
        "gpt-5.5",
    )
    assert est.prompt_tokens == chat.prompt_tokens
    assert not est.estimated


def test_message_items_with_text_parts_are_exact() -> None:
    """A conversation of message items (input_text/output_text parts) counts like chat messages."""
    items = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]},
        {
            "type": "message",
            "role": "assistant",
            "id": "msg_1",
            "phase": "final_answer",
            "content": [{"type": "output_text", "text": "Hi!", "annotations": []}],
        },
        {"role": "user", "content": "How are you?"},
    ]
    chat = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi!"},
        {"role": "user", "content": "How are you?"},
    ]
    est = estimate_request({"model": "gpt-5.5", "input": items})
    assert est.prompt_tokens == estimate_messages(chat, "gpt-5.5").prompt_tokens
    assert not est.estimated


def test_function_calls_and_outputs_are_estimated() -> None:
    """function_call / function_call_output items are counted and flag the estimate."""
    tool = {
        "type": "function",
        "name": "get_weather",
        "description": "Weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    first = estimate_request(_body(input="Weather in Paris?", tools=[tool]))
    items = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "type": "function_call",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
            "call_id": "c1",
        },
        {"type": "function_call_output", "call_id": "c1", "output": "Sunny and 21 degrees."},
    ]
    second = estimate_request(_body(input=items, tools=[tool]))
    assert second.method == "openai-responses+tool-calls+tool-results+tools"
    assert second.prompt_tokens > first.prompt_tokens + 10


def test_reasoning_of_earlier_turns_is_not_counted() -> None:
    """Reasoning items before the latest user message are dropped; the result is flagged."""
    reasoning = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "Thinking hard about it " * 20}],
    }
    base = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Bye"},
    ]
    without = estimate_request(_body(input=base))
    earlier = estimate_request(_body(input=[base[0], reasoning, *base[1:]]))
    assert earlier.prompt_tokens == without.prompt_tokens
    assert earlier.estimated
    assert "reasoning-items" in earlier.method


def test_server_side_items_and_stored_conversations_are_flagged() -> None:
    """Unknown item types and previous_response_id make the count an estimate naming them."""
    est = estimate_request(
        _body(
            input=[
                {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                {"role": "user", "content": "and?"},
            ],
            previous_response_id="resp_1",
        )
    )
    assert est.estimated
    assert "web-search-call" in est.method
    assert "previous-response" in est.method


def test_text_format_schema_is_estimated() -> None:
    """A json_schema text.format adds tokens and flags the estimate; json_object adds none."""
    plain = estimate_request(_body())
    as_json = estimate_request(_body(text={"format": {"type": "json_object"}}))
    schema = estimate_request(
        _body(
            text={
                "format": {
                    "type": "json_schema",
                    "name": "Answer",
                    "strict": True,
                    "schema": {
                        "type": "object",
                        "properties": {"n": {"type": "integer"}},
                        "required": ["n"],
                    },
                }
            }
        )
    )
    assert as_json == plain
    assert schema.estimated
    assert schema.prompt_tokens > plain.prompt_tokens


def test_responses_shape_wins_over_provider_label() -> None:
    """A body with input and no messages is a Responses body even when labelled anthropic."""
    assert request_format(_body(), provider="anthropic") == "openai-responses"
    assert estimate_request(_body(), provider="anthropic") == estimate_request(_body())


@pytest.mark.parametrize(
    "body",
    [{"input": "hi"}, {"model": "gpt-4o", "input": 3}, {"model": "gpt-4o", "input": ["hi"]}],
)
def test_malformed_responses_bodies_raise(body: dict[str, Any]) -> None:
    """A Responses body without a model or with non-item input raises TokenCountError."""
    with pytest.raises(TokenCountError):
        estimate_request(body)
