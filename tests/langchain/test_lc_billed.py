"""The LangChain handler and wrapper keep what ``UsageMetadata`` has no field for: the
provider's bill (OpenRouter's ``cost`` in ``response_metadata["token_usage"]``) and web
searches (langchain-anthropic's raw ``response_metadata["usage"]``)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from lc_fakes import TinyChat

from shared_data import shared_file
from tokenomy import MemoryLedger
from tokenomy_langchain import TokenomyCallbackHandler, TokenomyChatModel

OPENROUTER_USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 5,
    "total_tokens": 17,
    "cost": 0.0104,
}


def test_handler_records_the_openrouter_bill_and_flags_the_difference() -> None:
    """``token_usage.cost`` = 0.0104 becomes the record's ``billed_usd`` exactly; against the
    price-book $0.0000048 the call is tagged ``billed_mismatch``."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    chat = TinyChat(response_metadata={"token_usage": OPENROUTER_USAGE})
    chat.invoke("hi", config={"callbacks": [handler]})
    (record,) = ledger.query()
    assert record.billed_usd == Decimal("0.0104")
    assert record.total_cost == Decimal("0.0000048")
    assert record.charged_usd == Decimal("0.0104")
    assert "billed_mismatch" in record.tags


def test_handler_prices_anthropic_web_searches_from_the_raw_usage() -> None:
    """A claude-sonnet-4-5 answer whose raw usage reports two web searches costs its tokens
    plus 2 x $0.01 (part ``web_search``); with none reported there is no such part."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    raw = {"input_tokens": 12, "output_tokens": 5, "server_tool_use": {"web_search_requests": 2}}
    for usage in (raw, {"input_tokens": 12, "output_tokens": 5}):
        TinyChat(
            model_name="claude-sonnet-4-5", provider="anthropic", response_metadata={"usage": usage}
        ).invoke("hi", config={"callbacks": [handler]})
    searched, plain = ledger.query()
    assert searched.cost is not None and plain.cost is not None
    assert searched.cost.parts["web_search"] == Decimal("0.02")
    assert searched.total_cost == plain.total_cost + Decimal("0.02")  # type: ignore[operator]
    assert "web_search" not in plain.cost.parts


def test_wrapper_records_the_bill_through_the_pipeline() -> None:
    """``TokenomyChatModel`` (the pipeline's record step) keeps the same bill."""
    ledger = MemoryLedger()
    model = TokenomyChatModel(
        TinyChat(response_metadata={"token_usage": OPENROUTER_USAGE}), ledger=ledger
    )
    model.invoke("hi")
    (record,) = ledger.query()
    assert record.billed_usd == Decimal("0.0104")


class _Recorded:
    """What ``Anthropic.messages.with_raw_response.create`` returns, replaying a recorded body
    (the provider simulator has no server tools, so the recorded traffic stands in for it)."""

    def __init__(self, body: dict[str, Any]) -> None:
        self._body = body
        self.headers: dict[str, str] = {}

    def parse(self) -> Any:
        from anthropic.types import Message

        return Message.model_validate(self._body)


@pytest.mark.shared_data
def test_handler_prices_recorded_web_searches_through_langchain_anthropic() -> None:
    """The recorded claude-sonnet-4-5 answer that made one web search, turned into a message
    by langchain-anthropic's own code (its raw usage lands in ``response_metadata["usage"]``),
    is recorded with its token cost plus the $0.01 search: $0.073654."""
    from langchain_anthropic import ChatAnthropic

    body = None
    for line in shared_file("usage/langchain-cassettes.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["idx"] == 0 and rec["cassette"].endswith("test_context_management.yaml.gz"):
            body = json.loads(rec["response_body"])
    assert body is not None
    # anthropic 0.9x's Message requires web_fetch_requests, which this older body lacks
    body["usage"]["server_tool_use"].setdefault("web_fetch_requests", 0)

    class Replay(ChatAnthropic):
        def _create(self, payload: dict[str, Any]) -> Any:
            return _Recorded(body)

    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    Replay(model="claude-sonnet-4-5-20250929", api_key="unused").invoke(  # type: ignore[call-arg]
        "hi", config={"callbacks": [handler]}
    )
    (record,) = ledger.query()
    assert record.cost is not None
    assert record.cost.parts["web_search"] == Decimal("0.01")
    assert record.total_cost == Decimal("0.073654")
