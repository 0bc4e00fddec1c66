"""Costs equal the providers' published prices applied by hand.

Each price below is USD per million tokens as published by the provider (pages named per
group). The tests recompute every expected cost here, in Decimal, from the counts the
provider reported, and compare with ``cost_of_response`` (the bundled price book).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared_data import shared_file
from tokenomy._response import cost_of_response
from tokenomy.pricing import PriceBook
from tokenomy.usage import Usage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "usage"

# (input, cache read, 5-minute cache write, 1-hour cache write, output) USD per 1M tokens.
# Reasoning/thinking tokens are billed as output tokens by all three providers.
# A cache write rate of None means the provider charges no write premium (plain input rate).
Rates = tuple[str, str, str | None, str | None, str]
PUBLISHED: dict[str, Rates] = {
    # OpenAI, https://openai.com/api/pricing/ (standard tier; cache writes cost 1.25x input
    # from the GPT-5.6 family on, per the prompt-caching guide)
    "gpt-4o-mini": ("0.15", "0.075", None, None, "0.60"),
    "gpt-4.1": ("2.00", "0.50", None, None, "8.00"),
    "o4-mini": ("1.10", "0.275", None, None, "4.40"),
    "gpt-5": ("1.25", "0.125", None, None, "10.00"),
    "gpt-5-nano": ("0.05", "0.005", None, None, "0.40"),
    "gpt-5.1": ("1.25", "0.125", None, None, "10.00"),
    "gpt-5.2": ("1.75", "0.175", None, None, "14.00"),
    "gpt-5.4": ("2.50", "0.25", None, None, "15.00"),
    "gpt-5.5": ("5.00", "0.50", None, None, "30.00"),
    "gpt-5.6-luna": ("0.20", "0.02", "0.25", None, "1.20"),
    "gpt-6-astra": ("10.00", "1.00", "12.50", None, "50.00"),
    "text-embedding-ada-002": ("0.10", "0.10", None, None, "0"),
    # Anthropic, https://docs.anthropic.com/en/docs/about-claude/pricing
    # (5m cache writes 1.25x input, 1h writes 2x, cache reads 0.1x)
    "claude-haiku-4-5": ("1.00", "0.10", "1.25", "2.00", "5.00"),
    "claude-sonnet-4-5": ("3.00", "0.30", "3.75", "6.00", "15.00"),
    "claude-opus-4-5": ("5.00", "0.50", "6.25", "10.00", "25.00"),
    "claude-opus-4-6": ("5.00", "0.50", "6.25", "10.00", "25.00"),
    # Google, https://ai.google.dev/gemini-api/docs/pricing (thinking billed as output)
    "gemini-2.5-flash": ("0.30", "0.03", None, None, "2.50"),
}
# Built-in web search, USD per call: OpenAI https://openai.com/api/pricing/ ("web search"
# tool calls: $25 per 1k for gpt-4o/gpt-4.1-family models, $10 per 1k for the gpt-5 family),
# Anthropic https://docs.anthropic.com/en/docs/about-claude/pricing ($10 per 1k searches).
# None: the price map has no rate for the model (claude-haiku-4-5; its searches are left
# unpriced and the record says so), so the by-hand cost leaves them out too.
SEARCH: dict[str, str | None] = {
    "gpt-4o-mini": "0.025",
    "gpt-4.1": "0.025",
    "gpt-5": "0.01",
    "gpt-5-nano": "0.01",
    "claude-sonnet-4-5": "0.01",
    "claude-opus-4-5": "0.01",
    "claude-opus-4-6": "0.01",
    "claude-haiku-4-5": None,
}
# OpenAI priority processing, https://openai.com/api/pricing/ (priority tab)
PRIORITY: dict[str, Rates] = {"gpt-5.4": ("5.00", "0.50", None, None, "30.00")}

_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$|-v2$")


def _family(model: str) -> str:
    return _DATED.sub("", model)


def by_hand(usage: Usage, rates: Rates, search: str | None = None) -> Decimal:
    """The cost of ``usage`` at ``rates`` (and ``search`` USD per web-search call), computed
    the way a provider's invoice does."""
    inp, read, w5, w1, out = (None if r is None else Decimal(r) for r in rates)
    assert inp is not None
    assert read is not None
    assert out is not None
    plain = usage.input - usage.cache_read - usage.cache_write_5m - usage.cache_write_1h
    total = (
        plain * inp
        + usage.cache_read * read
        + usage.cache_write_5m * (inp if w5 is None else w5)
        + usage.cache_write_1h * (inp if w1 is None else w1)
        + usage.output * out
    )
    searches = usage.extra.web_searches if usage.extra is not None else 0
    fees = searches * Decimal(search) if search is not None else Decimal(0)
    return total / 1_000_000 + fees


def _records() -> list[dict[str, Any]]:
    path = shared_file("usage/langchain-cassettes.jsonl")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.mark.shared_data
@pytest.mark.filterwarnings("ignore::tokenomy.exceptions.UnknownModelPriceWarning")
def test_recorded_responses_cost_the_published_prices() -> None:
    """Every recorded response of a model in the price table (243 of the 247: all but the
    retired claude-3-7-sonnet and claude-opus-5-5; 8 with cache reads, 50 with reasoning, 11
    with a web search: 6 OpenAI Responses ``web_search_call``, 5 Anthropic
    ``server_tool_use``) costs exactly its counts times the published prices, web-search
    calls included."""
    book = PriceBook.default()
    priced = with_reads = with_reasoning = with_search = 0
    for rec in _records():
        if rec["status"] != 200:
            continue
        result = cost_of_response(rec["response_body"], provider=rec["provider"], price_book=book)
        assert result.model is not None
        rates = PUBLISHED.get(_family(result.model))
        if rates is None:
            continue
        assert result.cost is not None, result.model
        search = SEARCH.get(_family(result.model))
        expected = by_hand(result.usage, rates, search)
        assert result.cost.total == expected, (rec["cassette"], rec["idx"])
        priced += 1
        with_reads += result.usage.cache_read > 0
        with_reasoning += result.usage.reasoning > 0
        with_search += result.usage.extra is not None and result.usage.extra.web_searches > 0
    assert (priced, with_reads, with_reasoning, with_search) == (243, 8, 50, 11)


@pytest.mark.parametrize(
    ("name", "model", "provider", "tier", "parts"),
    [
        ("anthropic-cache-write-5m.json", None, None, None, {"cache_write_5m"}),
        ("anthropic-cache-mixed-ttl.json", None, None, None, {"cache_read", "cache_write_1h"}),
        ("anthropic-cache-unsplit.json", None, None, None, {"cache_read", "cache_write_5m"}),
        ("anthropic-thinking-cache-read.json", None, None, None, {"cache_read", "reasoning"}),
        ("anthropic-stream-cache.sse", None, None, None, {"cache_read", "cache_write_1h"}),
        ("openai-chat-cache-write.json", None, None, None, {"cache_write_5m", "reasoning"}),
        ("openai-chat-stream-chunks.json", None, None, None, {"cache_read", "reasoning"}),
        ("openai-responses-priority.json", None, None, "priority", {"cache_read", "reasoning"}),
        ("gemini-thinking.json", None, None, None, {"cache_read", "reasoning"}),
        ("gemini-stream.sse", None, None, None, {"reasoning"}),
        (
            "bedrock-converse-cache.json",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "bedrock",
            None,
            {"cache_read", "cache_write_5m", "cache_write_1h"},
        ),
    ],
)
def test_documented_cache_write_and_reasoning_shapes_cost_the_published_prices(
    name: str, model: str | None, provider: str | None, tier: str | None, parts: set[str]
) -> None:
    """Hand-written bodies with cache writes (5m, 1h, unsplit), cache reads, thinking and a
    priority-tier response cost their counts times the published (tier) prices, and the
    cost breaks down into the dimensions the body reports."""
    result = cost_of_response(
        (FIXTURES / name).read_bytes(), provider=provider, model=model, price_book=PriceBook()
    )
    assert result.cost is not None
    family = _family(result.model or "").removeprefix("anthropic.").removesuffix("-v1:0")
    family = _DATED.sub("", family)
    table = PRIORITY if tier == "priority" else PUBLISHED
    assert result.cost.total == by_hand(result.usage, table[family])
    assert parts <= set(result.cost.parts)
    assert sum(result.cost.parts.values()) == result.cost.total


def test_priority_tier_is_priced_at_priority_rates() -> None:
    """The same usage costs twice as much on gpt-5.4's priority tier as on its standard tier,
    because the body's service_tier is applied."""
    body = json.loads((FIXTURES / "openai-responses-priority.json").read_text())
    priority = cost_of_response(body, price_book=PriceBook())
    body["service_tier"] = "default"
    standard = cost_of_response(body, price_book=PriceBook())
    assert priority.service_tier == "priority"
    assert priority.cost is not None
    assert standard.cost is not None
    assert priority.cost.total == by_hand(priority.usage, PRIORITY["gpt-5.4"])
    assert standard.cost.total == by_hand(standard.usage, PUBLISHED["gpt-5.4"])
    assert priority.cost.total == 2 * standard.cost.total
