"""estimate_usage: the estimated Usage of a call whose provider reported none."""

from __future__ import annotations

from tokenomy.tokens import count_text, estimate_request, estimate_usage
from tokenomy.usage import Usage

BODY = {"model": "gpt-4", "messages": [{"role": "user", "content": "Say hello."}]}


def test_usage_combines_prompt_estimate_and_completion_count() -> None:
    """input is the request estimate, output the completion's tokens, estimated=True."""
    usage = estimate_usage(BODY, "Hello there, friend!", model="gpt-4")
    assert isinstance(usage, Usage)
    assert usage.input == estimate_request(BODY).prompt_tokens
    assert usage.output == count_text("Hello there, friend!", "gpt-4")
    assert usage.estimated
    assert usage.cache_read == 0
    assert usage.reasoning == 0


def test_model_defaults_to_the_body_model() -> None:
    """Without model=, the completion is counted in the body model's encoding."""
    text = "これは日本語の文章です。"
    assert estimate_usage(BODY, text).output == count_text(text, "gpt-4")
    assert estimate_usage(BODY, text).output != count_text(text, "gpt-4o")


def test_anthropic_and_empty_completion() -> None:
    """Anthropic bodies work too; an empty completion has 0 output tokens."""
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    usage = estimate_usage(body, "", model="claude-haiku-4-5")
    assert usage == Usage(input=estimate_request(body).prompt_tokens, output=0, estimated=True)
