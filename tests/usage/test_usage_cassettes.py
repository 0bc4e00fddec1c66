"""Every recorded response in the shared LangChain cassettes parses to the provider's own numbers.

The expected counts are recomputed here from the raw JSON with a deliberately simple, separate
reading of each format (no tokenomy code), so a parser bug cannot hide behind itself.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from shared_data import shared_file
from tokenomy.exceptions import UsageParseError
from tokenomy.usage import parse_response

pytestmark = pytest.mark.shared_data


def _records() -> list[dict[str, Any]]:
    path = shared_file("usage/langchain-cassettes.jsonl")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _events(body: str) -> tuple[list[dict[str, Any]], bool]:
    """The JSON objects of a body: one for a JSON body, one per ``data:`` line for SSE."""
    text = body.strip()
    if text.startswith("{"):
        return [json.loads(text)], False
    out = []
    for line in text.splitlines():
        if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
            out.append(json.loads(line[5:]))
    return out, True


def _anthropic_one(u: dict[str, Any]) -> dict[str, int]:
    split = u.get("cache_creation") or {}
    w1 = split.get("ephemeral_1h_input_tokens") or 0
    writes = u.get("cache_creation_input_tokens") or 0
    read = u.get("cache_read_input_tokens") or 0
    thinking = (u.get("output_tokens_details") or {}).get("thinking_tokens") or 0
    return {
        "input": u["input_tokens"] + writes + read,
        "output": u["output_tokens"],
        "cache_read": read,
        "cache_write_5m": writes - w1,
        "cache_write_1h": w1,
        "reasoning": thinking,
    }


def _expected(events: list[dict[str, Any]]) -> tuple[str, dict[str, int], str | None]:
    """(format, expected counts, model) recomputed straight from the provider's JSON."""
    first = events[0]
    kind = first.get("object") or first.get("type")
    if kind in ("chat.completion", "chat.completion.chunk", "list"):
        usage = [e["usage"] for e in events if e.get("usage")][-1]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage.get("completion_tokens", 0)
        details = usage.get("prompt_tokens_details") or {}
        out_details = usage.get("completion_tokens_details") or {}
        counts = {
            "input": usage["prompt_tokens"],
            "output": usage.get("completion_tokens", 0),
            "cache_read": details.get("cached_tokens", 0),
            "cache_write_5m": details.get("cache_write_tokens", 0),
            "cache_write_1h": 0,
            "reasoning": out_details.get("reasoning_tokens", 0),
        }
        api = "embeddings" if kind == "list" else "chat.completions"
        return api, counts, first.get("model")
    if kind == "response" or str(kind).startswith("response."):
        bodies = [
            e["response"]
            for e in events
            if e.get("type") in ("response.completed", "response.incomplete")
        ]
        resp = bodies[-1] if bodies else first
        usage = resp["usage"]
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
        counts = {
            "input": usage["input_tokens"],
            "output": usage["output_tokens"],
            "cache_read": usage["input_tokens_details"]["cached_tokens"],
            "cache_write_5m": usage["input_tokens_details"].get("cache_write_tokens", 0),
            "cache_write_1h": 0,
            "reasoning": usage["output_tokens_details"]["reasoning_tokens"],
        }
        return "responses", counts, resp["model"]
    # Anthropic: message_start usage, then message_delta's cumulative fields override it.
    if kind == "message":
        usage, model = dict(first["usage"]), first["model"]
    else:
        start = next(e for e in events if e["type"] == "message_start")["message"]
        usage, model = dict(start["usage"]), start["model"]
        for e in events:
            if e["type"] == "message_delta":
                usage.update({k: v for k, v in e["usage"].items() if v is not None})
    if usage.get("iterations"):
        # Compaction: Anthropic bills every sampling iteration; the top level is the last one.
        parts = [_anthropic_one(it) for it in usage["iterations"]]
        counts = {k: sum(p[k] for p in parts) for k in parts[0]}
    else:
        counts = _anthropic_one(usage)
    return "messages", counts, model


def test_every_cassette_with_usage_matches_the_providers_numbers() -> None:
    """All 247 recorded 200 responses with a body (chat, Responses, Messages, embeddings,
    JSON or SSE) give exactly the counts recomputed from the raw JSON, and the model it names."""
    checked: Counter[tuple[str, bool]] = Counter()
    for rec in _records():
        if rec["status"] != 200:
            continue
        events, streamed = _events(rec["response_body"])
        api, counts, model = _expected(events)
        parsed = parse_response(rec["response_body"], provider=rec["provider"])
        where = f"{rec['cassette']}#{rec['idx']}"
        assert parsed.api == api, where
        assert parsed.usage.counts() == counts, where
        assert parsed.model == model, where
        assert parsed.streamed is streamed, where
        assert parsed.usage.estimated is False
        checked[(api, streamed)] += 1
    assert checked == {
        ("responses", True): 128,
        ("responses", False): 45,
        ("messages", False): 44,
        ("messages", True): 21,
        ("chat.completions", True): 3,
        ("chat.completions", False): 2,
        ("embeddings", False): 4,
    }
    assert sum(checked.values()) == 247


def test_cassettes_exercise_cache_reads_reasoning_and_compaction() -> None:
    """The real traffic covers what the parsers must get right: 8 responses with cache reads,
    50 with reasoning tokens, and 6 Anthropic compaction responses whose billed usage is the
    sum of usage.iterations (83,555 + 224 input tokens in the streamed one)."""
    with_reads = with_reasoning = compacted = 0
    seen_streamed_compaction = False
    for rec in _records():
        if rec["status"] != 200:
            continue
        parsed = parse_response(rec["response_body"])
        with_reads += parsed.usage.cache_read > 0
        with_reasoning += parsed.usage.reasoning > 0
        compacted += '"iterations"' in rec["response_body"]
        if parsed.response_id == "msg_01YRSubdY98s1HPH8PLTezeQ":  # compaction, streamed
            assert parsed.usage.input == 83_555 + 224
            assert parsed.usage.output == 154 + 22
            seen_streamed_compaction = True
    assert (with_reads, with_reasoning, compacted) == (8, 50, 6)
    assert seen_streamed_compaction


def test_mislabelled_responses_records_are_read_by_shape() -> None:
    """134 OpenAI Responses records labelled provider "anthropic" are parsed as OpenAI
    Responses (provider openai), never as Anthropic messages."""
    relabelled = 0
    for rec in _records():
        if rec["provider"] == "anthropic" and rec["api"] == "responses":
            parsed = parse_response(rec["response_body"], provider="anthropic")
            assert (parsed.provider, parsed.api) == ("openai", "responses")
            relabelled += 1
    assert relabelled == 134


def test_the_error_record_is_refused_with_its_message() -> None:
    """The one 401 body in the cassettes raises UsageParseError quoting the provider's error."""
    errors = [r for r in _records() if r["status"] != 200]
    assert len(errors) == 1
    with pytest.raises(UsageParseError, match="authentication token"):
        parse_response(errors[0]["response_body"])
