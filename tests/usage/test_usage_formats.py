"""Each provider format's parser: the documented counting conventions, dicts and SDK objects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tokenomy.exceptions import UsageParseError
from tokenomy.usage import (
    Usage,
    parse_usage,
    usage_from_anthropic,
    usage_from_bedrock,
    usage_from_gemini,
    usage_from_openai_chat,
    usage_from_openai_responses,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "usage"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_openai_chat_cached_and_written_tokens_are_parts_of_prompt_tokens() -> None:
    """prompt_tokens 5200 with 2048 cache reads and 3072 cache writes leaves 80 plain input
    tokens; 384 of the 420 completion tokens are reasoning. Nothing is added on top."""
    usage = usage_from_openai_chat(_fixture("openai-chat-cache-write.json"))
    assert usage == Usage(
        input=5200, output=420, cache_read=2048, cache_write_5m=3072, reasoning=384
    )
    assert usage.uncached_input == 80
    assert usage.total == 5620


def test_openai_chat_accepts_the_sdk_object_and_the_bare_usage() -> None:
    """The openai SDK's ChatCompletion object, its .usage, and the dict give the same Usage."""
    from openai.types.chat import ChatCompletion

    body = _fixture("openai-chat-cache-write.json")
    body.pop("_fixture")
    sdk = ChatCompletion.model_validate(body)
    expected = usage_from_openai_chat(body)
    assert usage_from_openai_chat(sdk) == expected
    assert usage_from_openai_chat(sdk.usage) == expected
    assert parse_usage(sdk) == expected
    assert parse_usage(sdk.usage) == expected


def test_openai_gateway_cache_creation_tokens_spelling_is_a_cache_write() -> None:
    """prompt_tokens_details.cache_creation_tokens (a gateway's spelling) counts as a write."""
    usage = usage_from_openai_chat(
        {
            "prompt_tokens": 900,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 100, "cache_creation_tokens": 700},
        }
    )
    assert (usage.cache_read, usage.cache_write_5m, usage.uncached_input) == (100, 700, 100)


def test_openai_chat_without_usage_says_how_to_get_it() -> None:
    """A chunk whose usage is null raises UsageParseError pointing at include_usage."""
    chunk = {"object": "chat.completion.chunk", "choices": [], "usage": None}
    with pytest.raises(UsageParseError, match="include_usage"):
        usage_from_openai_chat(chunk)


def test_openai_responses_sdk_object_and_stream_event() -> None:
    """The openai SDK's Response, and a response.completed event wrapping it, give the
    fixture's counts: 4000 input with 3072 cached, 600 output with 448 reasoning."""
    from openai.types.responses import Response

    body = _fixture("openai-responses-priority.json")
    body.pop("_fixture")
    body.setdefault("parallel_tool_calls", True)
    body.setdefault("tool_choice", "auto")
    body.setdefault("tools", [])
    sdk = Response.model_validate(body)
    expected = Usage(input=4000, output=600, cache_read=3072, reasoning=448)
    assert usage_from_openai_responses(sdk) == expected
    event = {"type": "response.completed", "sequence_number": 9, "response": body}
    assert usage_from_openai_responses(event) == expected
    assert parse_usage(event) == expected


def test_anthropic_input_adds_cache_reads_and_writes_and_splits_ttls() -> None:
    """Anthropic's input_tokens excludes the cache: 48 + 248 written + 1800 read = 2096
    prompt tokens, the writes split 148 (5m) / 100 (1h) as the API reports."""
    usage = usage_from_anthropic(_fixture("anthropic-cache-mixed-ttl.json"))
    assert usage == Usage(
        input=2096, output=503, cache_read=1800, cache_write_5m=148, cache_write_1h=100
    )


def test_anthropic_writes_without_a_breakdown_are_five_minute_writes() -> None:
    """cache_creation_input_tokens 4096 with no cache_creation object: all 4096 are 5m writes."""
    usage = usage_from_anthropic(_fixture("anthropic-cache-unsplit.json"))
    assert (usage.input, usage.cache_write_5m, usage.cache_write_1h) == (9 + 4096 + 512, 4096, 0)


def test_anthropic_thinking_tokens_are_reasoning_inside_output() -> None:
    """output_tokens_details.thinking_tokens 950 is the reasoning part of 1200 output tokens."""
    usage = usage_from_anthropic(_fixture("anthropic-thinking-cache-read.json"))
    assert (usage.output, usage.reasoning, usage.visible_output) == (1200, 950, 250)


def test_anthropic_sdk_message_object() -> None:
    """The anthropic SDK's Message object parses like its dict."""
    from anthropic.types import Message

    body = _fixture("anthropic-cache-mixed-ttl.json")
    body.pop("_fixture")
    sdk = Message.model_validate(body)
    assert usage_from_anthropic(sdk) == usage_from_anthropic(body)
    assert parse_usage(sdk) == usage_from_anthropic(body)
    assert parse_usage(sdk.usage) == usage_from_anthropic(body)


def test_anthropic_compaction_iterations_are_summed() -> None:
    """With usage.iterations the billed usage is the sum of the iterations (compaction step
    plus message step), not the top-level counts of the last step alone."""
    usage = {
        "input_tokens": 224,
        "output_tokens": 22,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
        "iterations": [
            {"type": "compaction", "input_tokens": 83555, "output_tokens": 154,
             "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 0},
            {"type": "message", "input_tokens": 224, "output_tokens": 22,
             "cache_read_input_tokens": 0, "cache_creation_input_tokens": 50,
             "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 50}},
        ],
    }  # fmt: skip
    assert usage_from_anthropic({"type": "message", "usage": usage}) == Usage(
        input=83555 + 1000 + 224 + 50, output=176, cache_read=1000, cache_write_1h=50
    )


def test_gemini_thoughts_are_billed_output_and_tool_prompt_is_input() -> None:
    """promptTokenCount 1200 (1024 cached) + toolUsePromptTokenCount 64 = 1264 input;
    candidates 300 + thoughts 700 = 1000 output; reconciles with totalTokenCount 2264."""
    body = _fixture("gemini-thinking.json")
    usage = usage_from_gemini(body)
    assert usage == Usage(input=1264, output=1000, cache_read=1024, reasoning=700)
    assert usage.total == body["usageMetadata"]["totalTokenCount"]


def test_gemini_sdk_snake_case_spelling() -> None:
    """The google-genai SDK's model_dump() spelling (prompt_token_count, ...) reads the same."""
    meta = {
        "prompt_token_count": 1200,
        "cached_content_token_count": 1024,
        "tool_use_prompt_token_count": 64,
        "candidates_token_count": 300,
        "thoughts_token_count": 700,
    }
    expected = usage_from_gemini(_fixture("gemini-thinking.json"))
    assert usage_from_gemini({"usage_metadata": meta}) == expected
    assert parse_usage({"candidates": [], "usage_metadata": meta}) == expected


def test_bedrock_converse_adds_cache_tokens_and_splits_by_ttl() -> None:
    """Converse inputTokens 4 excludes 500 read and 2085 written (85 with a 1h TTL); the
    2589-token prompt plus 200 output reconciles with totalTokens 2789."""
    body = _fixture("bedrock-converse-cache.json")
    usage = usage_from_bedrock(body)
    assert usage == Usage(
        input=2589, output=200, cache_read=500, cache_write_5m=2000, cache_write_1h=85
    )
    assert usage.total == body["usage"]["totalTokens"]


def test_bedrock_headers_and_invocation_metrics() -> None:
    """x-amzn-bedrock-*-token-count headers (any case, also inside boto3's ResponseMetadata)
    and InvokeModel invocation metrics use Converse's exclusive input convention."""
    headers = {
        "X-Amzn-Bedrock-Input-Token-Count": "12",
        "X-Amzn-Bedrock-Output-Token-Count": "40",
        "X-Amzn-Bedrock-Cache-Read-Input-Token-Count": "300",
        "X-Amzn-Bedrock-Cache-Write-Input-Token-Count": "8",
    }
    expected = Usage(input=320, output=40, cache_read=300, cache_write_5m=8)
    assert usage_from_bedrock(headers) == expected
    assert usage_from_bedrock({"ResponseMetadata": {"HTTPHeaders": headers}}) == expected
    metrics = {
        "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": 12,
            "outputTokenCount": 40,
            "cacheReadInputTokenCount": 300,
            "cacheWriteInputTokenCount": 8,
            "invocationLatency": 900,
        }
    }
    assert usage_from_bedrock(metrics) == expected


def test_bedrock_invoke_model_anthropic_body_is_anthropic_format() -> None:
    """An InvokeModel body from an Anthropic model is read with Anthropic's convention."""
    body = _fixture("anthropic-cache-write-5m.json")
    assert usage_from_bedrock(body) == usage_from_anthropic(body)


@pytest.mark.parametrize(
    ("parser", "body", "message"),
    [
        (usage_from_openai_chat, {"usage": {"prompt_tokens": -3}}, "negative"),
        (usage_from_openai_chat, {"usage": {"prompt_tokens": "lots"}}, "not a token count"),
        (
            usage_from_openai_chat,
            {
                "usage": {
                    "prompt_tokens": 10,
                    "completion_tokens": 2,
                    "completion_tokens_details": {"reasoning_tokens": 5},
                }
            },
            "inconsistent counts",
        ),
        (usage_from_anthropic, {"type": "message", "usage": None}, "no usage object"),
        (usage_from_gemini, {"candidates": []}, "usageMetadata"),
        (usage_from_bedrock, {"output": {}}, "x-amzn-bedrock"),
    ],
)
def test_bad_usage_raises_a_typed_error_with_the_numbers(
    parser: Any, body: dict[str, Any], message: str
) -> None:
    """Negative, non-numeric, inconsistent or missing counts raise UsageParseError naming
    them (never a silent zero, never a bare KeyError or ValueError)."""
    with pytest.raises(UsageParseError, match=message):
        parser(body)
