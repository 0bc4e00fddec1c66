"""LangChain and LlamaIndex usage, produced by the real integration code installed in .venv."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared_data import shared_file
from tokenomy.exceptions import UsageParseError
from tokenomy.usage import (
    Usage,
    parse_response,
    parse_usage,
    service_tier_from_langchain,
    usage_from_anthropic,
    usage_from_langchain,
    usage_from_llamaindex,
    usage_from_openai_chat,
    usage_from_openai_responses,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "usage"


def _body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    body.pop("_fixture", None)
    return body


def _langchain_anthropic(body: dict[str, Any]) -> Any:
    from anthropic.types import Usage as AnthropicUsage
    from langchain_anthropic.chat_models import _create_usage_metadata

    # construct(): how the SDK itself builds response objects (no validation of newer fields)
    return _create_usage_metadata(AnthropicUsage.construct(**body["usage"]))


@pytest.mark.parametrize(
    "name",
    [
        "anthropic-cache-write-5m.json",
        "anthropic-cache-mixed-ttl.json",
        "anthropic-cache-unsplit.json",
        "anthropic-thinking-cache-read.json",
    ],
)
def test_langchain_anthropic_metadata_matches_the_raw_response(name: str) -> None:
    """langchain-anthropic's UsageMetadata (which zeroes cache_creation when it copies the
    5m/1h split) reads back to exactly the usage of the raw Anthropic body."""
    body = _body(name)
    metadata = _langchain_anthropic(body)
    assert usage_from_langchain(metadata) == usage_from_anthropic(body)


def test_langchain_cache_creation_holding_the_whole_write_is_not_double_counted() -> None:
    """A producer that puts all 248 writes in cache_creation AND the 148/100 split gets
    248 writes (100 of them 1h), not 496."""
    metadata = {
        "input_tokens": 2096,
        "output_tokens": 503,
        "total_tokens": 2599,
        "input_token_details": {
            "cache_read": 1800,
            "cache_creation": 248,
            "ephemeral_5m_input_tokens": 148,
            "ephemeral_1h_input_tokens": 100,
        },
    }
    usage = usage_from_langchain(metadata)
    assert (usage.cache_write_5m, usage.cache_write_1h, usage.uncached_input) == (148, 100, 48)


def test_langchain_openai_metadata_including_tier_prefixed_keys() -> None:
    """langchain-openai's UsageMetadata, plain and on the priority tier (priority_cache_read,
    priority_reasoning), reads back to the raw body's usage and tells the tier."""
    from langchain_openai.chat_models.base import (
        _create_usage_metadata,
        _create_usage_metadata_responses,
    )

    chat = _body("openai-chat-cache-write.json")
    chat_meta = _create_usage_metadata(chat["usage"], chat["service_tier"])
    assert usage_from_langchain(chat_meta) == usage_from_openai_chat(chat)
    assert service_tier_from_langchain(chat_meta) is None

    resp = _body("openai-responses-priority.json")
    resp_meta = _create_usage_metadata_responses(resp["usage"], resp["service_tier"])
    assert "priority_cache_read" in resp_meta["input_token_details"]
    assert usage_from_langchain(resp_meta) == usage_from_openai_responses(resp)
    assert service_tier_from_langchain(resp_meta) == "priority"


def test_langchain_message_objects_are_accepted() -> None:
    """An AIMessage carrying usage_metadata parses through usage_from_langchain and
    parse_usage alike."""
    from langchain_core.messages import AIMessage

    body = _body("anthropic-cache-mixed-ttl.json")
    message = AIMessage(content="hi", usage_metadata=_langchain_anthropic(body))
    assert usage_from_langchain(message) == usage_from_anthropic(body)
    assert parse_usage(message) == usage_from_anthropic(body)


@pytest.mark.shared_data
def test_langchain_agrees_with_tokenomy_on_every_recorded_body() -> None:
    """For all 216 recorded non-compaction bodies with usage (173 final Responses usages,
    2 chat completions, 41 Anthropic messages), the UsageMetadata the official LangChain
    integrations build gives the same token counts as parsing the raw body (UsageMetadata
    has no field for web searches: the handler reads those from ``response_metadata``)."""
    from langchain_openai.chat_models.base import (
        _create_usage_metadata,
        _create_usage_metadata_responses,
    )

    path = shared_file("usage/langchain-cassettes.jsonl")
    compared = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        body = rec["response_body"]
        if rec["status"] != 200 or '"iterations"' in body or '"object": "list"' in body:
            continue
        parsed = parse_response(body)
        if parsed.streamed and parsed.api == "messages":
            continue  # LangChain adds per-event usage chunks; compared via the bodies above
        if parsed.api == "chat.completions" and not parsed.streamed:
            meta = _create_usage_metadata(json.loads(body)["usage"], parsed.service_tier)
        elif parsed.api == "chat.completions":
            continue
        elif parsed.api == "responses":
            events = [ln[5:] for ln in body.splitlines() if ln.startswith("data:")]
            final = [
                json.loads(e)
                for e in events
                if '"response.completed"' in e or '"response.incomplete"' in e
            ]
            usage = final[-1]["response"]["usage"] if final else json.loads(body)["usage"]
            meta = _create_usage_metadata_responses(usage, parsed.service_tier)
        else:
            meta = _langchain_anthropic(json.loads(body))
        assert usage_from_langchain(meta) == parsed.usage.with_extra(None), rec["cassette"]
        compared += 1
    assert compared == 216


def _llamaindex_openai_chat(raw: Any) -> Any:
    from llama_index.core.base.llms.types import ChatMessage, ChatResponse
    from llama_index.llms.openai import OpenAI

    llm = OpenAI(model="gpt-4o-mini", api_key="sk-test-not-used")
    counts = llm._get_response_token_counts(raw)
    return ChatResponse(message=ChatMessage(content="ok"), raw=raw, additional_kwargs=counts)


def test_llamaindex_chat_response_reads_the_raw_sdk_object_with_cache_details() -> None:
    """A llama-index-llms-openai ChatResponse: the raw ChatCompletion gives the cache and
    reasoning detail its additional_kwargs (prompt/completion totals only) lack."""
    from openai.types.chat import ChatCompletion

    body = _body("openai-chat-cache-write.json")
    response = _llamaindex_openai_chat(ChatCompletion.model_validate(body))
    assert response.additional_kwargs["prompt_tokens"] == 5200
    assert usage_from_llamaindex(response) == usage_from_openai_chat(body)
    assert parse_usage(response) == usage_from_openai_chat(body)


def test_llamaindex_stream_chunks_without_usage_then_the_final_chunk() -> None:
    """Streamed ChatResponses: a chunk without usage raises (no silent zero); the final
    include_usage chunk gives 1300 input / 210 output with the cached and reasoning parts."""
    from openai.types.chat import ChatCompletionChunk

    chunks = json.loads((FIXTURES / "openai-chat-stream-chunks.json").read_text())
    chunks[0].pop("_fixture")
    first = _llamaindex_openai_chat(ChatCompletionChunk.model_validate(chunks[0]))
    with pytest.raises(UsageParseError, match="LlamaIndex response carries no usage"):
        usage_from_llamaindex(first)
    last = _llamaindex_openai_chat(ChatCompletionChunk.model_validate(chunks[-1]))
    assert usage_from_llamaindex(last) == Usage(
        input=1300, output=210, cache_read=1152, reasoning=192
    )


def test_llamaindex_responses_usage_object_and_plain_counts_fallbacks() -> None:
    """OpenAIResponses stores the SDK ResponseUsage in additional_kwargs["usage"]; without a
    raw response that is read, and bare prompt/completion counts are the last resort."""
    from llama_index.core.base.llms.types import ChatMessage, ChatResponse
    from openai.types.responses import ResponseUsage

    body = _body("openai-responses-priority.json")
    sdk_usage = ResponseUsage.model_validate(body["usage"])
    response = ChatResponse(
        message=ChatMessage(content="ok"), additional_kwargs={"usage": sdk_usage}
    )
    assert usage_from_llamaindex(response) == usage_from_openai_responses(body)
    counts = ChatResponse(
        message=ChatMessage(content="ok"),
        additional_kwargs={"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    )
    assert usage_from_llamaindex(counts) == Usage(input=7, output=3)
