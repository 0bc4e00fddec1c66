"""The LlamaIndex handler keeps the provider's bill: OpenRouter's ``usage.cost`` on the
OpenAI SDK object in ``raw`` (an extra field of ``CompletionUsage``)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent, LLMChatStartEvent
from openai.types.chat import ChatCompletion

from tokenomy import MemoryLedger
from tokenomy_llamaindex import TokenomyEventHandler, TokenomySpanHandler

MESSAGES = [ChatMessage(role="user", content="hello")]


@pytest.fixture(autouse=True)
def _spans_seen() -> None:
    """The handler warns when no span was ever seen; this test drives spans by hand."""
    from tokenomy_llamaindex._spans import TREE

    TREE.seen_any = True


def test_openrouter_cost_in_raw_becomes_billed_usd(ledger: MemoryLedger) -> None:
    """A ChatCompletion whose usage carries ``cost`` 0.00042 records ``billed_usd`` exactly,
    next to the price-book cost of its 2,000 + 300 gpt-4o-mini tokens ($0.00048)."""
    TokenomySpanHandler()
    handler = TokenomyEventHandler(ledger=ledger)
    span = f"OpenAI.chat-{uuid.uuid4()}"
    raw = ChatCompletion.model_validate(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}
            ],
            "usage": {
                "prompt_tokens": 2000,
                "completion_tokens": 300,
                "total_tokens": 2300,
                "cost": 0.00042,
            },
        }
    )
    model_dict = {"class_name": "openai_llm", "model_name": "gpt-4o-mini"}
    handler.handle(
        LLMChatStartEvent(messages=MESSAGES, additional_kwargs={}, model_dict=model_dict, span_id=span)
    )
    response = ChatResponse(message=ChatMessage(role="assistant", content="hi"), raw=raw)
    handler.handle(LLMChatEndEvent(messages=MESSAGES, response=response, span_id=span))
    (record,) = ledger.query()
    assert record.billed_usd == Decimal("0.00042")
    assert record.total_cost == Decimal("0.00048")
    assert record.tags["billed_mismatch"] == "0.143"
