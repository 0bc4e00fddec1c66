"""Anthropic messages bodies: always estimates, with the API's own context rules applied."""

from __future__ import annotations

import base64
import math
import struct
import zlib
from typing import Any

import pytest

from tokenomy.exceptions import TokenCountError
from tokenomy.tokens import estimate_request, get_encoding, request_format


def _body(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": messages, **extra}


USER = {"role": "user", "content": "Write a story about a cat."}


def test_plain_request_is_text_plus_fixed_overhead_and_flagged() -> None:
    """Each message costs its o200k text plus one fixed overhead; the result is an estimate."""
    enc = get_encoding("o200k_base")
    reply = {"role": "assistant", "content": "Once upon a time, a cat."}
    one = estimate_request(_body([USER]))
    two = estimate_request(_body([USER, reply]))
    three = estimate_request(_body([USER, reply, USER]))
    assert one.estimated
    assert one.method == "anthropic-approx"
    assert one.encoding == "o200k_base"
    per_message = two.prompt_tokens - one.prompt_tokens - len(enc.encode(reply["content"]))
    assert per_message > 0
    assert three.prompt_tokens - two.prompt_tokens == per_message + len(enc.encode(USER["content"]))
    assert one.prompt_tokens > per_message + len(enc.encode(USER["content"]))  # plus a request base


def test_system_prompt_is_counted() -> None:
    """A system prompt (string or text blocks) adds its tokens."""
    system = "You are a pirate."
    n = len(get_encoding("o200k_base").encode(system))
    base = estimate_request(_body([USER])).prompt_tokens
    assert estimate_request(_body([USER], system=system)).prompt_tokens == base + n
    blocks = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
    assert estimate_request(_body([USER], system=blocks)).prompt_tokens == base + n


def test_thinking_of_earlier_turns_is_dropped() -> None:
    """Thinking blocks in finished assistant turns are not counted (the API strips them)."""
    answer = {"type": "text", "text": "Hello! How can I help?"}
    thought = {"type": "thinking", "thinking": "The user greets me. " * 50, "signature": "sig"}
    follow_up = {"role": "user", "content": "How are you?"}
    with_thought = _body([USER, {"role": "assistant", "content": [thought, answer]}, follow_up])
    without = _body([USER, {"role": "assistant", "content": [answer]}, follow_up])
    assert estimate_request(with_thought).prompt_tokens == estimate_request(without).prompt_tokens


def test_extended_thinking_and_tools_add_preambles() -> None:
    """Enabling thinking or defining client tools adds system-prompt tokens."""
    base = estimate_request(_body([USER])).prompt_tokens
    thinking = estimate_request(_body([USER], thinking={"type": "enabled", "budget_tokens": 2000}))
    tool = {
        "name": "get_weather",
        "description": "Weather.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    tools = estimate_request(_body([USER], tools=[tool]))
    assert thinking.prompt_tokens > base
    assert tools.prompt_tokens > base + len(get_encoding("o200k_base").encode(str(tool)))
    assert tools.method == "anthropic-approx+tools"


def test_server_tools_are_flagged() -> None:
    """Server tools (web search etc.) add their preamble and name 'server-tools'."""
    est = estimate_request(
        _body([USER], tools=[{"type": "web_search_20250305", "name": "web_search"}])
    )
    assert "server-tools" in est.method
    assert est.prompt_tokens > estimate_request(_body([USER])).prompt_tokens


def test_compaction_replaces_earlier_turns() -> None:
    """Messages before a compaction block are not counted."""
    long = {"role": "user", "content": "a long message " * 500}
    summary = {"role": "assistant", "content": [{"type": "compaction", "content": "Summary."}]}
    compacted = estimate_request(_body([long, summary, USER]))
    assert compacted.prompt_tokens == estimate_request(_body([summary, USER])).prompt_tokens


def _png(width: int, height: int) -> str:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    data = (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )
    return base64.b64encode(data).decode()


def test_images_cost_area_over_750() -> None:
    """A base64 image costs width*height/750 tokens (scaled into 1568 px first)."""

    def image_tokens(width: int, height: int) -> int:
        block = {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": _png(width, height)},
        }
        with_image = estimate_request(_body([{"role": "user", "content": [block]}]))
        empty = estimate_request(_body([{"role": "user", "content": []}]))
        assert "images" in with_image.method
        return with_image.prompt_tokens - empty.prompt_tokens

    assert image_tokens(750, 750) == 750
    assert image_tokens(200, 300) == 80
    # large images are scaled down to about 1.15 megapixels whatever their size
    assert image_tokens(4000, 4000) == image_tokens(8000, 8000) == math.ceil(1_150_000 / 750)


@pytest.mark.parametrize(
    ("body", "provider", "expected"),
    [
        ({"model": "claude-x", "messages": []}, None, "anthropic-messages"),
        ({"model": "my-model", "system": "s", "messages": []}, None, "anthropic-messages"),
        (
            {"model": "my-model", "messages": [], "tools": [{"name": "t", "input_schema": {}}]},
            None,
            "anthropic-messages",
        ),
        (
            {
                "model": "my-model",
                "messages": [
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x"}]}
                ],
            },
            None,
            "anthropic-messages",
        ),
        ({"model": "my-model", "messages": []}, None, "openai-chat"),
        ({"model": "my-model", "messages": []}, "anthropic", "anthropic-messages"),
        ({"model": "claude-x", "messages": []}, "openai", "openai-chat"),
        (
            {"model": "gpt-4o", "messages": [], "response_format": {"type": "json_object"}},
            None,
            "openai-chat",
        ),
    ],
)
def test_format_detection(body: dict[str, Any], provider: str | None, expected: str) -> None:
    """Chat vs Anthropic is told by an explicit provider, else by tell-tale keys and blocks."""
    assert request_format(body, provider=provider) == expected


@pytest.mark.parametrize(
    "body",
    [
        {"model": "claude-x", "max_tokens": 1, "messages": [3]},
        {"model": "claude-x", "max_tokens": 1, "messages": [{"role": "user", "content": 3}]},
        {"model": "claude-x", "max_tokens": 1, "messages": [{"role": "user", "content": [3]}]},
        {"model": "claude-x", "max_tokens": 1, "messages": [], "tools": ["x"]},
        {"model": "claude-x", "max_tokens": 1, "messages": "hi"},
    ],
)
def test_malformed_anthropic_bodies_raise(body: dict[str, Any]) -> None:
    """Malformed Anthropic bodies raise TokenCountError, never a bare TypeError."""
    with pytest.raises(TokenCountError):
        estimate_request(body)
