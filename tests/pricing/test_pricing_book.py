"""The price book: bundled snapshot, dimensions, tiers, name resolution, unknown models."""

from __future__ import annotations

import warnings
from decimal import Decimal

import pytest

from tokenomy import UnknownModelPriceError, UnknownModelPriceWarning, Usage
from tokenomy.pricing import ModelPrice, PriceBook

M = Decimal(1_000_000)


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


def per_m(value: str) -> Decimal:
    return Decimal(value) / M


def test_snapshot_is_dated_and_large(book: PriceBook) -> None:
    """The bundled snapshot names its litellm version and date and prices 3,000+ models."""
    snap = book.snapshot
    assert snap.source == "litellm"
    assert snap.litellm_version and snap.date
    assert snap.version == f"litellm-{snap.litellm_version} ({snap.date})"
    assert len(snap.sha256) == 64
    assert len(book) > 3000


def test_from_litellm_reads_installed_map_without_importing_it() -> None:
    """PriceBook.from_litellm() reads the installed litellm's file and never imports litellm."""
    import sys

    book = PriceBook.from_litellm()
    assert book.snapshot.litellm_version is not None
    assert book.lookup("gpt-4o") is not None
    assert "litellm" not in sys.modules


def test_openai_cache_read_and_reasoning_dimensions(book: PriceBook) -> None:
    """gpt-4o: uncached input, cache reads and output are each priced at their own rate."""
    usage = Usage(input=10_000, output=2_000, cache_read=4_000, reasoning=500)
    cost = book.price("gpt-4o", usage)
    assert cost is not None
    assert cost.parts["input"] == 6_000 * per_m("2.50")
    assert cost.parts["cache_read"] == 4_000 * per_m("1.25")
    assert cost.parts["output"] == 1_500 * per_m("10")
    assert cost.parts["reasoning"] == 500 * per_m("10")  # no separate rate: billed as output
    assert cost.total == sum(cost.parts.values())


def test_anthropic_cache_writes_5m_and_1h(book: PriceBook) -> None:
    """claude-haiku-4-5: 5-minute writes at 1.25x, 1-hour writes at 2x, reads at 0.1x input."""
    usage = Usage(input=10_000, output=100, cache_read=2_000, cache_write_5m=3_000, cache_write_1h=1_000)
    cost = book.price("claude-haiku-4-5-20251001", usage)
    assert cost is not None
    assert cost.parts == {
        "input": 4_000 * per_m("1"),
        "cache_read": 2_000 * per_m("0.10"),
        "cache_write_5m": 3_000 * per_m("1.25"),
        "cache_write_1h": 1_000 * per_m("2"),
        "output": 100 * per_m("5"),
    }


def test_long_context_tier_applies_above_threshold(book: PriceBook) -> None:
    """gpt-5.5 charges its long-context rates once the prompt exceeds 272k tokens."""
    below = book.price("gpt-5.5", Usage(input=272_000, output=1_000))
    above = book.price("gpt-5.5", Usage(input=272_001, output=1_000))
    assert below is not None and above is not None
    assert below.context_above is None
    assert below.parts["input"] == 272_000 * per_m("5")
    assert above.context_above == 272_000
    assert above.parts["input"] == 272_001 * per_m("10")
    assert above.parts["output"] == 1_000 * per_m("45")


def test_batch_and_priority_service_tiers(book: PriceBook) -> None:
    """Batch halves gpt-4o's rates; priority uses its own; 'default' is the standard set."""
    usage = Usage(input=1_000, output=1_000)
    std = book.price("gpt-4o", usage, service_tier="default")
    batch = book.price("gpt-4o", usage, service_tier="batch")
    prio = book.price("gpt-4o", usage, service_tier="priority")
    assert std is not None and batch is not None and prio is not None
    assert batch.total * 2 == std.total
    assert batch.service_tier == "batch"
    assert prio.total == 1_000 * per_m("4.25") + 1_000 * per_m("17")


def test_per_request_fee_is_a_dimension() -> None:
    """A per-request fee is priced once per call as its own dimension."""
    book = PriceBook().with_overrides(
        {"search-model": ModelPrice.per_million(input="1", output="1", request="0.005")}
    )
    cost = book.price("search-model", Usage(input=1_000_000, output=0))
    assert cost is not None
    assert cost.parts["request"] == Decimal("0.005")
    assert cost.total == Decimal("1.005")


def test_separate_reasoning_rate_when_the_data_has_one(book: PriceBook) -> None:
    """Models with output_cost_per_reasoning_token price reasoning at that rate."""
    entry = book.lookup("dashscope/qwen-turbo")
    assert entry is not None and entry.reasoning is not None
    cost = book.price("dashscope/qwen-turbo", Usage(input=0, output=1_000, reasoning=400))
    assert cost is not None
    assert cost.parts["reasoning"] == 400 * entry.reasoning
    assert cost.parts["output"] == 600 * entry.output


def test_tiered_pricing_lists(book: PriceBook) -> None:
    """litellm's tiered_pricing ranges become context tiers (qwen-flash: above 256k)."""
    small = book.price("dashscope/qwen-flash", Usage(input=1_000, output=1_000))
    large = book.price("dashscope/qwen-flash", Usage(input=300_000, output=1_000))
    assert small is not None and large is not None
    assert small.parts["input"] == 1_000 * per_m("0.05")
    assert large.parts["input"] == 300_000 * per_m("0.25")


@pytest.mark.parametrize(
    ("name", "provider", "expected"),
    [
        ("gpt-4o", None, "gpt-4o"),
        ("openai/gpt-4o", None, "gpt-4o"),
        ("GPT-4o", None, "gpt-4o"),
        ("gpt-4o-2024-08-06", None, "gpt-4o-2024-08-06"),
        ("gpt-5.4-2026-03-05", None, "gpt-5.4-2026-03-05"),
        ("gpt-5.5-2030-01-01", None, "gpt-5.5"),  # a snapshot date the data has no entry for
        ("anthropic/claude-sonnet-4-5", None, "claude-sonnet-4-5"),
        ("claude-sonnet-4-5-20250929", None, "claude-sonnet-4-5-20250929"),
        ("gpt-4o", "azure", "azure/gpt-4o"),
        ("gpt-4o", "azure_openai", "azure/gpt-4o"),
        ("gemini-2.5-pro", "google_genai", "gemini/gemini-2.5-pro"),
        ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "bedrock", "us.anthropic.claude-3-7-sonnet-20250219-v1:0"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            None,
            "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        ),
        ("publishers/anthropic/models/claude-3-5-sonnet@20240620", "vertex_ai", "vertex_ai/claude-3-5-sonnet@20240620"),
        ("claude-haiku-4-5@20251001", "vertex_ai", "vertex_ai/claude-haiku-4-5@20251001"),
    ],
)
def test_names_as_users_write_them_resolve(book: PriceBook, name: str, provider: str | None, expected: str) -> None:
    """Provider prefixes, dated snapshots, Azure, Bedrock and Vertex ids resolve to an entry."""
    assert book.resolve(name, provider) == expected


def test_latest_alias_resolves_to_newest_dated_entry() -> None:
    """'-latest' names resolve to the newest dated entry of the same family."""
    book = PriceBook().with_overrides(
        {
            "acme-chat-20240101": ModelPrice.per_million(input="1", output="2"),
            "acme-chat-20250101": ModelPrice.per_million(input="3", output="4"),
        }
    )
    # -latest looks in the snapshot; an override family is found through aliases instead
    assert book.resolve("acme-chat-latest") is None
    aliased = book.with_overrides(aliases={"acme-chat-latest": "acme-chat-20250101"})
    assert aliased.resolve("acme-chat-latest") == "acme-chat-20250101"
    real = PriceBook()
    newest = real.resolve("claude-haiku-4-5-latest")
    assert newest == "claude-haiku-4-5-20251001"


def test_azure_deployment_alias() -> None:
    """An Azure deployment name maps to a priced model through the alias map."""
    book = PriceBook(aliases={"prod-gpt4o-eastus": "azure/gpt-4o"})
    assert book.resolve("prod-gpt4o-eastus", "azure") == "azure/gpt-4o"
    assert book.price("prod-gpt4o-eastus", Usage(input=1, output=1)) is not None


def test_dated_name_never_falls_back_to_a_differently_priced_entry(book: PriceBook) -> None:
    """gpt-4o-2024-05-13 has its own (higher) price and is not priced as gpt-4o."""
    old = book.lookup("gpt-4o-2024-05-13")
    new = book.lookup("gpt-4o")
    assert old is not None and new is not None
    assert old.input > new.input


def test_unknown_model_is_unpriced_with_one_warning(book: PriceBook) -> None:
    """An unknown model prices to None (never $0) and warns once per model."""
    fresh = PriceBook()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fresh.price("acme-unknown-1", Usage(input=5, output=5)) is None
        assert fresh.price("acme-unknown-1", Usage(input=5, output=5)) is None
        assert fresh.price("acme-unknown-2", Usage(input=5, output=5)) is None
    ours = [w for w in caught if issubclass(w.category, UnknownModelPriceWarning)]
    assert len(ours) == 2
    assert "acme-unknown-1" in str(ours[0].message)


def test_strict_mode_raises_typed_error_naming_model_and_fix() -> None:
    """Strict books raise UnknownModelPriceError with the model, the keys tried and the fix."""
    book = PriceBook(strict=True)
    with pytest.raises(UnknownModelPriceError) as info:
        book.price("acme/never-heard-of-it", Usage(input=1))
    err = info.value
    assert err.model == "acme/never-heard-of-it"
    assert "never-heard-of-it" in err.tried
    assert "with_overrides" in str(err) and "aliases" in str(err)


def test_overrides_win_over_snapshot() -> None:
    """An override replaces the snapshot's price of the same name."""
    book = PriceBook().with_overrides({"gpt-4o": ModelPrice.per_million(input="1", output="1")})
    cost = book.price("gpt-4o", Usage(input=1_000_000, output=1_000_000))
    assert cost is not None and cost.total == Decimal(2)


def test_money_is_decimal_everywhere(book: PriceBook) -> None:
    """Every part and the total are Decimals with exact per-token arithmetic."""
    cost = book.price("gpt-4o-mini", Usage(input=3, output=7))
    assert cost is not None
    assert all(isinstance(v, Decimal) for v in cost.parts.values())
    assert cost.total == Decimal("0.00000045") + Decimal("0.0000042")


def test_model_price_rates_become_decimals_at_construction() -> None:
    """Rates given as str/int/float are stored as exact Decimals (floats via repr), so pricing
    never fails later; anything else is a TypeError naming the field."""
    price = ModelPrice(input="0.000001", output=2e-06, cache_read=0)
    assert price.input == Decimal("0.000001") and price.output == Decimal("0.000002")
    # 999,990 uncached input at $1/M, 10 cache reads at $0, 1M output at $2/M
    assert price.cost(Usage(input=1_000_000, output=1_000_000, cache_read=10)).total == Decimal("2.99999")
    with pytest.raises(TypeError, match=r"ModelPrice\.output"):
        ModelPrice(input=1, output=[1])  # type: ignore[arg-type]
