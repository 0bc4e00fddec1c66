"""The LangChain handler and wrapper keep what ``UsageMetadata`` has no field for: the
provider's bill (OpenRouter's ``cost`` in ``response_metadata["token_usage"]``) and web
searches (langchain-anthropic's raw ``response_metadata["usage"]``)."""

from __future__ import annotations

from decimal import Decimal

from lc_fakes import TinyChat

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
