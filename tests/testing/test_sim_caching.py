"""Simulated provider prompt caching: OpenAI automatic prefixes, Anthropic breakpoints."""

from __future__ import annotations

from typing import Any

import anthropic
import openai

from tokenomy.testing import ProviderSimulator
from tokenomy.tokens import count_text
from tokenomy.usage import Usage

LONG = " ".join(f"Rule {i}: answer precisely and cite the clause number." for i in range(200))
CLAUDE = "claude-haiku-4-5"


def test_long_system_prompt_is_two_thousand_tokens() -> None:
    """The shared prefix is well over the 1,024-token caching minimum."""
    assert 2000 < count_text(LONG, "gpt-4o") < 3000


def _chat(oai: openai.OpenAI, question: str, model: str = "gpt-4o") -> Any:
    return oai.chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": LONG}, {"role": "user", "content": question}],
    )


def test_openai_second_request_with_the_same_prefix_reports_cached_tokens(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """The first long request caches nothing; a second one sharing the system prompt reports
    cached_tokens in 128-token steps (>= 1,024, <= the prompt), as the SDK parses it and as
    the recorded usage's cache_read."""
    first = _chat(oai, "What does rule 3 say?")
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    second = _chat(oai, "And rule 150?")
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached % 128 == 0
    assert 1024 <= cached <= second.usage.prompt_tokens
    assert second.usage.prompt_tokens - cached < 128 + 20
    assert sim.calls[-1].usage == Usage(
        input=second.usage.prompt_tokens,
        output=second.usage.completion_tokens,
        cache_read=cached,
    )
    third = _chat(oai, "And rule 150?")
    assert third.usage.prompt_tokens_details.cached_tokens >= cached


def test_openai_cache_is_per_model_needs_1024_tokens_and_resets(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """Another model does not hit the cache; short prompts are never cached;
    reset_cache() forgets everything."""
    _chat(oai, "q1")
    assert _chat(oai, "q2", model="gpt-4o-mini").usage.prompt_tokens_details.cached_tokens == 0
    short = [{"role": "user", "content": "short prompt " * 50}]
    for _ in range(2):
        r = oai.chat.completions.create(model="gpt-4o", messages=short)  # type: ignore[arg-type]
        assert r.usage.prompt_tokens_details.cached_tokens == 0
    sim.reset_cache()
    assert _chat(oai, "q3").usage.prompt_tokens_details.cached_tokens == 0
    assert _chat(oai, "q4").usage.prompt_tokens_details.cached_tokens >= 1024


def test_openai_streamed_and_responses_requests_report_cached_tokens(
    sim: ProviderSimulator, oai: openai.OpenAI
) -> None:
    """The usage chunk of a stream and the Responses API's input_tokens_details carry the
    cached tokens too."""
    for question in ("first", "second"):
        chunks = list(
            oai.chat.completions.create(
                model="gpt-4o",
                messages=[
                    {"role": "system", "content": LONG},
                    {"role": "user", "content": question},
                ],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens >= 1024
    assert sim.calls[-1].usage.cache_read == chunks[-1].usage.prompt_tokens_details.cached_tokens
    for question in ("first", "second"):
        r = oai.responses.create(model="gpt-4.1", instructions=LONG, input=question)
    assert r.usage.input_tokens_details.cached_tokens >= 1024
    assert sim.calls[-1].usage.cache_read == r.usage.input_tokens_details.cached_tokens


def _claude(client: anthropic.Anthropic, question: str, ttl: str | None = None) -> Any:
    control: dict[str, str] = {"type": "ephemeral"}
    if ttl:
        control["ttl"] = ttl
    return client.messages.create(
        model=CLAUDE,
        max_tokens=64,
        system=[{"type": "text", "text": LONG, "cache_control": control}],  # type: ignore[list-item]
        messages=[{"role": "user", "content": question}],
    )


def test_anthropic_breakpoint_writes_then_reads(
    sim: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    """A cache_control breakpoint on a long system block: the first request writes it
    (cache_creation_input_tokens, 5m), the next reads the same amount; input_tokens excludes
    both, and the recorded usage counts every prompt token in `input`."""
    first = _claude(claude, "Rule 3?")
    written = first.usage.cache_creation_input_tokens
    assert written > 1024
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == written
    assert first.usage.cache_creation.ephemeral_1h_input_tokens == 0
    assert first.usage.cache_read_input_tokens == 0
    total = first.usage.input_tokens + written
    assert sim.calls[-1].usage == Usage(
        input=total, output=first.usage.output_tokens, cache_write_5m=written
    )
    second = _claude(claude, "Rule 150, please?")
    assert second.usage.cache_read_input_tokens == written
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens < 20
    assert sim.calls[-1].usage.cache_read == written
    assert sim.calls[-1].usage.input == second.usage.input_tokens + written


def test_anthropic_one_hour_ttl_and_minimum_size(
    sim: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    """ttl "1h" writes go to ephemeral_1h and cache_write_1h; a breakpoint on a prefix under
    1,024 tokens caches nothing."""
    first = _claude(claude, "q", ttl="1h")
    assert first.usage.cache_creation.ephemeral_1h_input_tokens > 1024
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == 0
    assert sim.calls[-1].usage.cache_write_1h == first.usage.cache_creation_input_tokens
    small = {"type": "text", "text": "tiny system prompt", "cache_control": {"type": "ephemeral"}}
    for _ in range(2):
        m = claude.messages.create(
            model=CLAUDE,
            max_tokens=8,
            system=[small],  # type: ignore[list-item]
            messages=[{"role": "user", "content": "hi"}],
        )
        assert m.usage.cache_creation_input_tokens == m.usage.cache_read_input_tokens == 0


def test_anthropic_moving_breakpoint_reads_the_old_prefix_and_writes_the_rest(
    sim: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    """Multi-turn: with the breakpoint on the latest user turn, turn two reads turn one's
    cached prefix and writes only the new tokens after it."""

    def turn(messages: list[dict[str, Any]]) -> Any:
        return claude.messages.create(model=CLAUDE, max_tokens=32, messages=messages)  # type: ignore[arg-type]

    def user(text: str, cached: bool) -> dict[str, Any]:
        block: dict[str, Any] = {"type": "text", "text": text}
        if cached:
            block["cache_control"] = {"type": "ephemeral"}
        return {"role": "user", "content": [block]}

    one = turn([user(LONG, True)])
    assert one.usage.cache_creation_input_tokens > 1024
    history = [user(LONG, False), {"role": "assistant", "content": "Noted."}]
    two = turn([*history, user("Now summarise rule 7 in detail. " * 20, True)])
    assert two.usage.cache_read_input_tokens == one.usage.cache_creation_input_tokens
    assert 0 < two.usage.cache_creation_input_tokens < 400
    total = sim.calls[-1].usage.input
    assert total == (
        two.usage.input_tokens
        + two.usage.cache_read_input_tokens
        + two.usage.cache_creation_input_tokens
    )


def test_anthropic_streamed_cache_counts_in_message_start(
    sim: ProviderSimulator, claude: anthropic.Anthropic
) -> None:
    """Streamed, message_start carries the cache read/creation counts and the final message
    (merged with message_delta) keeps them."""
    _claude(claude, "warm up")
    with claude.messages.stream(
        model=CLAUDE,
        max_tokens=64,
        system=[{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "streamed question"}],
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    start = events[0]
    assert start.type == "message_start"
    assert start.message.usage.cache_read_input_tokens > 1024
    assert final.usage.cache_read_input_tokens == start.message.usage.cache_read_input_tokens
    assert sim.calls[-1].usage.cache_read == final.usage.cache_read_input_tokens
