"""``read_attr`` (the OpenAI usage fast reader's attribute read) is ``getattr`` with a default."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ConfigDict

from tokenomy.usage._fast import read_attr as attr


def _sdk_raw() -> ChatCompletion:
    return ChatCompletion.model_validate(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o-mini-2024-07-18",
            "service_tier": "default",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "hi there"},
                }
            ],
            "usage": {
                "prompt_tokens": 2000,
                "completion_tokens": 300,
                "total_tokens": 2300,
                "prompt_tokens_details": {"cached_tokens": 1536, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 128, "audio_tokens": 0},
            },
        }
    )


class _Extra(BaseModel):
    model_config = ConfigDict(extra="allow")
    field_set: int | None = None
    _private: int = 7

    @property
    def computed(self) -> int:
        return 3


class _Dynamic(BaseModel):
    def __getattr__(self, name: str) -> Any:
        if name == "dynamic":
            return 5
        return super().__getattr__(name)  # type: ignore[misc]


class _Plain:
    slot = 1

    def __init__(self) -> None:
        self.value = 2


@pytest.mark.parametrize(
    ("obj", "name"),
    [
        (_Extra(field_set=4), "field_set"),
        (_Extra(), "field_set"),
        (_Extra.model_validate({"cache_creation_tokens": 9}), "cache_creation_tokens"),
        (_Extra(), "cache_creation_tokens"),
        (_Extra(), "_private"),
        (_Extra(), "computed"),
        (_Dynamic(), "dynamic"),
        (_Dynamic(), "absent"),
        (_Plain(), "slot"),
        (_Plain(), "value"),
        (_Plain(), "absent"),
        ({"absent": 1}, "absent"),
        (None, "absent"),
        (_sdk_raw(), "service_tier"),
        (_sdk_raw().usage.prompt_tokens_details, "cache_creation_tokens"),
        (_sdk_raw().usage.prompt_tokens_details, "cached_tokens"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_attr_is_getattr_with_a_default(obj: Any, name: str) -> None:
    """attr(obj, name) is getattr(obj, name, None) for pydantic models (fields, extra values,
    private attributes, properties, a custom __getattr__, absent names) and anything else, the
    first time a type is seen and after."""
    assert attr(obj, name) == getattr(obj, name, None)
    assert attr(obj, name) == getattr(obj, name, None)
