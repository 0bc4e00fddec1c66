"""parse_response: every way a raw response arrives, the provider label, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokenomy.exceptions import UsageParseError
from tokenomy.usage import ParsedResponse, Usage, parse_response, parse_usage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "usage"
SSE = (FIXTURES / "anthropic-stream-cache.sse").read_text(encoding="utf-8")
EXPECTED = Usage(input=5012, output=312, cache_read=3000, cache_write_1h=2000)


def _sse_events() -> list[dict[str, object]]:
    return [json.loads(line[5:]) for line in SSE.splitlines() if line.startswith("data:")]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(SSE, id="sse-text"),
        pytest.param(SSE.encode(), id="sse-bytes"),
        pytest.param(SSE.replace("\n", "\r\n"), id="sse-crlf"),
        pytest.param(json.dumps(_sse_events()), id="json-list-text"),
        pytest.param(_sse_events(), id="decoded-list"),
        pytest.param("\n".join(json.dumps(e) for e in _sse_events()), id="ndjson"),
    ],
)
def test_one_stream_in_every_recorded_form_gives_the_same_result(body: object) -> None:
    """SSE text (str, bytes, CRLF), a JSON list (text or decoded) and NDJSON of the same
    Anthropic stream all give 5012 input / 312 output, streamed, with id and stop reason."""
    parsed = parse_response(body)
    assert parsed == ParsedResponse(
        provider="anthropic",
        api="messages",
        model="claude-sonnet-4-5-20250929",
        usage=EXPECTED,
        streamed=True,
        service_tier="standard",
        response_id="msg_fixture_stream_cache",
        finish_reason="end_turn",
    )


def test_multi_line_sse_data_is_joined() -> None:
    """An SSE event whose JSON spans two data: lines is joined before decoding."""
    body = (
        'data: {"object": "chat.completion", "model": "gpt-4o-mini", "choices": [],\n'
        'data:  "usage": {"prompt_tokens": 3, "completion_tokens": 2}}\n\n'
    )
    assert parse_response(body).usage == Usage(input=3, output=2)


def test_json_body_is_not_streamed_and_keeps_a_fitting_provider_label() -> None:
    """A JSON chat body labelled azure stays azure (OpenAI format served by Azure); labelled
    anthropic it is corrected to openai, because the format is read from the shape."""
    body = (FIXTURES / "openai-chat-cache-write.json").read_text()
    azure = parse_response(body, provider="azure")
    assert (azure.provider, azure.api, azure.streamed) == ("azure", "chat.completions", False)
    assert parse_response(body, provider="anthropic").provider == "openai"
    bedrock = parse_response(
        (FIXTURES / "anthropic-cache-write-5m.json").read_text(), provider="Bedrock"
    )
    assert (bedrock.provider, bedrock.api) == ("bedrock", "messages")


def test_to_dict_is_json_ready() -> None:
    """ParsedResponse.to_dict() serialises with the six counts under usage."""
    parsed = parse_response(SSE)
    data = json.loads(json.dumps(parsed.to_dict()))
    assert data["usage"] == EXPECTED.counts()
    assert (data["api"], data["streamed"], data["estimated"]) == ("messages", True, False)


def test_parse_usage_reads_raw_text_and_lists_too() -> None:
    """parse_usage accepts the same raw forms as parse_response."""
    assert parse_usage(SSE) == EXPECTED
    assert parse_usage(_sse_events()) == EXPECTED


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        (b"\xff\xfe\x00", "not UTF-8"),
        ("<html>502 Bad Gateway</html>", "neither JSON nor SSE"),
        ('{"model": "gpt-4o", ', "does not parse"),
        ("data: {not json}\n\n", "not JSON"),
        ("[]", "empty list"),
        (
            '{"error": {"message": "Rate limit reached", "type": "rate_limit"}}',
            "Rate limit reached",
        ),
        (
            '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
            "Overloaded",
        ),
        ('{"hello": "world"}', "no known response format"),
        ('{"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}', "usage_from_langchain"),
        (42, "int"),
    ],
)
def test_unreadable_input_names_what_was_expected(body: object, message: str) -> None:
    """Empty, binary, HTML, truncated JSON, bad SSE, error bodies and unknown shapes raise
    UsageParseError saying what is wrong (quoting a provider's error) and what was expected."""
    with pytest.raises(UsageParseError, match=message) as info:
        parse_response(body)
    assert info.value.expected is not None
