"""usage_from_langchain's fast path agrees with its full parser on the shapes LangChain's
official integrations produce, and leaves everything else to it."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types import Usage as AnthropicUsage
from langchain_anthropic.chat_models import _create_usage_metadata as anthropic_metadata
from langchain_openai.chat_models.base import _create_usage_metadata as openai_chat_metadata
from langchain_openai.chat_models.base import (
    _create_usage_metadata_responses as openai_responses_metadata,
)

from tokenomy.usage import Usage, usage_from_langchain
from tokenomy.usage._fast import fast_langchain as fast_usage
from tokenomy.usage._frameworks import _full_langchain

OPENAI_CHAT = [
    {"prompt_tokens": 8, "completion_tokens": 8, "total_tokens": 16},
    {
        "prompt_tokens": 1300,
        "completion_tokens": 90,
        "total_tokens": 1390,
        "prompt_tokens_details": {"cached_tokens": 1152, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 64, "audio_tokens": 0},
    },
]
OPENAI_RESPONSES = [
    {
        "input_tokens": 2000,
        "output_tokens": 300,
        "total_tokens": 2300,
        "input_tokens_details": {"cached_tokens": 1024},
        "output_tokens_details": {"reasoning_tokens": 200},
    }
]
ANTHROPIC = [
    {"input_tokens": 12, "output_tokens": 7},
    {
        "input_tokens": 20,
        "output_tokens": 30,
        "cache_read_input_tokens": 1500,
        "cache_creation_input_tokens": 600,
    },
    {
        "input_tokens": 20,
        "output_tokens": 30,
        "cache_creation_input_tokens": 1700,
        "cache_creation": {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 1200},
    },
]


def _cases() -> list[Any]:
    cases: list[Any] = []
    cases += [
        pytest.param(openai_chat_metadata(u), id=f"openai-chat-{i}")
        for i, u in enumerate(OPENAI_CHAT)
    ]
    cases += [
        pytest.param(openai_responses_metadata(u), id=f"openai-responses-{i}")
        for i, u in enumerate(OPENAI_RESPONSES)
    ]
    cases += [
        pytest.param(anthropic_metadata(AnthropicUsage.model_validate(u)), id=f"anthropic-{i}")
        for i, u in enumerate(ANTHROPIC)
    ]
    return cases


@pytest.mark.parametrize("meta", _cases())
def test_fast_reader_matches_the_core_parser(meta: dict[str, Any]) -> None:
    """For the metadata langchain-openai (chat and Responses) and langchain-anthropic build,
    the fast path answers, and answers what the core parser does."""
    fast = fast_usage(dict(meta))
    assert fast is not None
    assert fast == _full_langchain(meta) == usage_from_langchain(meta)


@pytest.mark.parametrize(
    "meta",
    [
        pytest.param(openai_chat_metadata(OPENAI_CHAT[1], "priority"), id="priority-tier"),
        pytest.param({"input_tokens": 5.0, "output_tokens": 1, "total_tokens": 6}, id="float"),
        pytest.param(
            {"input_tokens": 5, "output_tokens": 1, "input_token_details": {"cache_read": 9}},
            id="inconsistent",
        ),
        pytest.param(
            {"input_tokens": 5, "output_tokens": 1, "input_token_details": {"text": 5}},
            id="unknown-detail",
        ),
    ],
)
def test_unusual_metadata_is_left_to_the_core_parser(meta: dict[str, Any]) -> None:
    """Tier-prefixed details, float counts, inconsistent reports and unknown detail keys make
    the fast path step aside (return None) so the core parser's rules apply."""
    assert fast_usage(meta) is None


def test_fast_reader_reads_writes_by_lifetime() -> None:
    """Anthropic's split writes (cache_creation zeroed, 5m/1h ephemeral counts) are read by
    lifetime."""
    meta = {
        "input_tokens": 1720,
        "output_tokens": 30,
        "total_tokens": 1750,
        "input_token_details": {
            "cache_read": 0,
            "cache_creation": 0,
            "ephemeral_5m_input_tokens": 500,
            "ephemeral_1h_input_tokens": 1200,
        },
    }
    assert fast_usage(meta) == Usage(input=1720, output=30, cache_write_5m=500, cache_write_1h=1200)
