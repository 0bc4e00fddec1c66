"""The LangChain handler on the core record path: truncation, strict pricing, price files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from lc_fakes import TinyChat

import tokenomy
from tokenomy import MemoryLedger, PriceBook, UnpricedCallError
from tokenomy.pricing import _book
from tokenomy_langchain import TokenomyCallbackHandler


@pytest.mark.parametrize(
    ("metadata", "truncated"),
    [
        ({"finish_reason": "length"}, True),
        ({"stop_reason": "max_tokens"}, True),
        ({"finish_reason": "stop"}, False),
        ({"stop_reason": "end_turn"}, False),
        ({}, False),
    ],
)
def test_truncated_follows_the_response_metadata(
    metadata: dict[str, str], truncated: bool
) -> None:
    """finish_reason "length" (OpenAI) or stop_reason "max_tokens" (Anthropic) marks the
    record truncated; any other reason does not."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    TinyChat(response_metadata=metadata).invoke("hi", config={"callbacks": [handler]})
    (record,) = ledger.query()
    assert record.truncated is truncated


def test_strict_book_records_the_call_unpriced_and_counts_the_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A strict price book and an unknown model: the billed call is still recorded (unpriced,
    tag unpriced_reason), the handler counts one failure and logs one line, the chain goes on."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger, price_book=PriceBook(strict=True))
    with caplog.at_level(logging.WARNING, logger="tokenomy_langchain"):
        out = TinyChat(model_name="no-such-model-q").invoke("hi", config={"callbacks": [handler]})
    assert out.content == "ok then"
    (record,) = ledger.query()
    assert not record.priced and record.cost is None
    assert record.tags["unpriced_reason"] == "UnknownModelPriceError"
    assert handler.failures == 1 and handler.recorded == 1
    assert isinstance(handler.last_failure, UnpricedCallError)
    assert handler.last_failure.stored.record_id == record.record_id
    (line,) = [r for r in caplog.records if r.name == "tokenomy_langchain"]
    assert line.exc_info is None and "recorded unpriced" in line.getMessage()


def test_strict_book_raises_after_recording_when_raise_error_is_set() -> None:
    """With raise_error, the UnpricedCallError reaches the caller, and the call is in the
    ledger all the same."""
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger, price_book=PriceBook(strict=True))
    handler.raise_error = True
    with pytest.raises(UnpricedCallError):
        TinyChat(model_name="no-such-model-r").invoke("hi", config={"callbacks": [handler]})
    assert len(ledger) == 1 and not ledger.query()[0].priced


def test_a_malformed_price_file_still_records_every_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TOKENOMY_PRICES naming a malformed file: each call is recorded unpriced, flagged with
    the PriceFileError, and counted as a failure."""
    bad = tmp_path / "prices.toml"
    bad.write_text("this is [not toml")
    monkeypatch.setenv("TOKENOMY_PRICES", str(bad))
    monkeypatch.setattr(_book, "_default", None)
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    for _ in range(2):
        TinyChat().invoke("hi", config={"callbacks": [handler]})
    records = ledger.query()
    assert len(records) == 2 and handler.failures == 2
    assert all(r.tags["unpriced_reason"] == "PriceFileError" for r in records)
    monkeypatch.setattr(_book, "_default", None)
    assert tokenomy.current_trackers() == ()
