"""usage_from_openai_chat's fast path agrees with its full parser on
every shape it accepts (plain dicts and the openai SDK's CompletionUsage, as
llama-index-llms-openai hands them over), and leaves everything else to it."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from openai.types.completion_usage import CompletionUsage

from tokenomy.exceptions import UsageParseError
from tokenomy.usage import usage_from_openai_chat
from tokenomy.usage._fast import fast_openai_chat as fast_openai_chat_usage
from tokenomy.usage._openai import _full_openai_chat

ACCEPTED: list[dict[str, Any]] = [
    {"prompt_tokens": 8, "completion_tokens": 8, "total_tokens": 16},
    {"prompt_tokens": 8},
    {"prompt_tokens": 8, "completion_tokens": None, "prompt_tokens_details": None},
    {
        "prompt_tokens": 1300,
        "completion_tokens": 90,
        "total_tokens": 1390,
        "prompt_tokens_details": {"cached_tokens": 1152, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 64,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    {
        "prompt_tokens": 3000,
        "completion_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 1500},
    },
    {
        "prompt_tokens": 3000,
        "completion_tokens": 10,
        "prompt_tokens_details": {"cache_creation_tokens": 2048},
    },
    {
        "prompt_tokens": 3000,
        "completion_tokens": 10,
        "prompt_tokens_details": {"cache_write_tokens": 0, "cache_creation_tokens": 2048},
    },
    {"prompt_tokens": 5, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": None}},
]
DEFERRED: list[Any] = [
    {"prompt_tokens": 8.0, "completion_tokens": 2},  # a float count (some gateways)
    {"prompt_tokens": 8, "completion_tokens": "2"},
    {"prompt_tokens": True, "completion_tokens": 2},
    {"prompt_tokens": 8, "prompt_tokens_details": {"cached_tokens": 1.0}},
    {"input_tokens": 8, "output_tokens": 2},  # not chat-completions usage
    {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 200}},  # inconsistent
    {"prompt_tokens": -1},
    "8 tokens",
]


@pytest.mark.parametrize("data", ACCEPTED)
def test_plain_dicts_read_like_the_core_parser(data: dict[str, Any]) -> None:
    """A plain dict of ints: the fast reader gives exactly the core parser's Usage."""
    fast = fast_openai_chat_usage(data)
    assert fast is not None
    assert fast == _full_openai_chat(data) == usage_from_openai_chat(data)


@pytest.mark.parametrize("data", ACCEPTED)
def test_sdk_objects_read_like_the_core_parser(data: dict[str, Any]) -> None:
    """The openai SDK's CompletionUsage (what llama-index-llms-openai's raw.usage is): same."""
    fields = {k: v for k, v in data.items() if v is not None}
    obj = CompletionUsage.model_validate({"completion_tokens": 0, "total_tokens": 0, **fields})
    fast = fast_openai_chat_usage(obj)
    assert fast is not None
    assert fast == _full_openai_chat(obj) == usage_from_openai_chat(obj)


@pytest.mark.parametrize("data", DEFERRED)
def test_other_shapes_and_values_are_left_to_the_core_parser(data: Any) -> None:
    """Floats, strings, bools, other formats and inconsistent reports return None, so the core
    parser (which accepts or explains them) decides."""
    assert fast_openai_chat_usage(data) is None
    with contextlib.suppress(UsageParseError):
        usage_from_openai_chat(data)
