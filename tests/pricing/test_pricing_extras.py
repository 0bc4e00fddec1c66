"""Everything a provider bills is priced and kept (issue 8, "Numbers that never mislead").

Web-search calls, audio tokens, advisor steps on another model, the provider's own bill, and
billed calls whose usage report is odd (a stream ending in an error, cached parts larger than
the prompt). Fixtures are in tests/fixtures/usage (see its README); recorded traffic from the
shared data where it has the shape.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shared_data import shared_file
from tokenomy import MemoryLedger, PriceBook, record_call
from tokenomy.ledger import CostRecord, SQLiteLedger
from tokenomy.pricing import COST_DIMENSIONS, ModelPrice
from tokenomy.usage import Usage, UsageExtra, parse_response, usage_extra

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "usage"
BOOK = PriceBook()


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def _records() -> list[dict[str, Any]]:
    path = shared_file("usage/langchain-cassettes.jsonl")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _record(body: str, **kw: Any) -> CostRecord:
    parsed = parse_response(body)
    return record_call(
        model=parsed.model, usage=parsed.usage, provider=parsed.provider, ledger=MemoryLedger(), **kw
    )


# -- 1. the provider's bill -----------------------------------------------------------------


def test_openrouter_cost_is_kept_exactly_next_to_the_price_book_cost() -> None:
    """OpenRouter's ``usage.cost`` (0.020612, a web-search plugin fee included) is the
    record's ``billed_usd`` exactly; the price-book cost (tokens only, $0.000612) stays
    ``cost``; reports count the bill (``charged_usd``) and the call is flagged: tag
    ``billed_mismatch`` = (cost - bill) / bill."""
    record = _record(_fixture("openrouter-billed.json"))
    assert record.billed_usd == Decimal("0.020612")
    assert record.total_cost == Decimal("0.000612")
    assert record.charged_usd == Decimal("0.020612")
    assert record.billed_mismatch
    assert record.tags["billed_mismatch"] == "-0.970"


@pytest.mark.parametrize(
    ("billed", "flagged"),
    [("0.00021", False), ("0.000216", False), ("0.000217", True), ("0.000203", True)],
)
def test_a_bill_within_three_percent_is_not_flagged(billed: str, flagged: bool) -> None:
    """A price-book cost of $0.00021 against a bill of $0.00021 or $0.000216 (2.8% apart) is
    not flagged; $0.000217 (3.2%) or $0.000203 (3.4%) is, by tag and by property."""
    record = record_call(
        model="gpt-4o-mini",
        usage=Usage(1000, 100),
        billed_usd=Decimal(billed),
        ledger=MemoryLedger(),
    )
    assert record.total_cost == Decimal("0.00021")
    assert record.billed_mismatch is flagged
    assert ("billed_mismatch" in record.tags) is flagged


def test_billed_amount_round_trips_through_sqlite_and_json(tmp_path: Path) -> None:
    """``billed_usd`` is one more record field (schema v3): read back from SQLite and from the
    JSON export as the same exact Decimal; a call with no bill reads back ``None``."""
    ledger = SQLiteLedger(tmp_path / "l.db", sync=True)
    billed = _record(_fixture("openrouter-billed.json"))
    plain = record_call(model="gpt-4o-mini", usage=Usage(10, 2), ledger=MemoryLedger())
    ledger.add_many([billed, plain])
    back = {r.record_id: r for r in ledger.query()}
    assert back[billed.record_id].billed_usd == Decimal("0.020612")
    assert back[plain.record_id].billed_usd is None
    line = json.loads(json.dumps(billed.to_json_dict()))
    assert line["billed_usd"] == "0.020612"
    assert CostRecord.from_json_dict(line).billed_usd == Decimal("0.020612")
    ledger.close()


# -- 2. advisor steps on another model ------------------------------------------------------


def test_advisor_iteration_is_priced_at_the_advisor_models_rates() -> None:
    """A ``claude-sonnet-5`` call whose ``usage.iterations`` include an ``advisor_message``
    on ``claude-opus-4-8`` costs the executor's steps at Sonnet's rates plus the advisor step
    at Opus's: $0.165438, against $0.104268 (37% low) with every step at Sonnet's."""
    parsed = parse_response(_fixture("anthropic-advisor.json"))
    assert parsed.usage.extra is not None
    ((model, step),) = parsed.usage.extra.steps
    assert (model, step.input, step.output) == ("claude-opus-4-8", 12240, 1630)
    sonnet, opus = BOOK.lookup("claude-sonnet-5"), BOOK.lookup("claude-opus-4-8")
    assert sonnet is not None and opus is not None
    by_hand = (
        (12034 + 14210) * sonnet.input
        + (188 + 912) * sonnet.output
        + 12240 * opus.input
        + 1630 * opus.output
    )
    cost = BOOK.price("claude-sonnet-5", parsed.usage)
    assert cost is not None and cost.total == by_hand == Decimal("0.165438")
    record = _record(_fixture("anthropic-advisor.json"))
    assert record.total_cost == by_hand
    all_sonnet = BOOK.price("claude-sonnet-5", parsed.usage.with_extra(None))
    assert all_sonnet is not None and all_sonnet.total == Decimal("0.104268")


def test_advisor_on_an_unknown_model_is_priced_at_the_executors_rates_and_says_so() -> None:
    """A step on a model the book does not know is priced at the executor's rates (a lower
    bound, as before) and the record names it in tag ``price_note``."""
    body = json.loads(_fixture("anthropic-advisor.json"))
    body["usage"]["iterations"][1]["model"] = "claude-unknown-9"
    record = _record(json.dumps(body))
    assert "claude-unknown-9" in record.tags["price_note"]
    parsed = parse_response(json.dumps(body))
    assert record.total_cost == BOOK.price("claude-sonnet-5", parsed.usage.with_extra(None)).total  # type: ignore[union-attr]


@pytest.mark.shared_data
def test_recorded_compaction_iterations_are_summed_at_the_call_models_rates() -> None:
    """The recorded ``claude-opus-4-6`` compaction responses (iterations with no model) keep
    no steps: every iteration is summed and priced at the call's model, as before."""
    seen = 0
    for rec in _records():
        if '"iterations"' not in rec["response_body"]:
            continue
        parsed = parse_response(rec["response_body"])
        assert parsed.usage.extra is None or not parsed.usage.extra.steps
        seen += 1
    assert seen == 6


# -- 3. everything billed is priced ---------------------------------------------------------


@pytest.mark.shared_data
def test_recorded_web_searches_are_counted_and_priced() -> None:
    """The shared traffic's 11 responses with web searches (6 OpenAI Responses
    ``web_search_call``, 5 Anthropic ``server_tool_use``) each carry their searches; those of
    a model with a rate in the price map have a ``web_search`` part of searches x rate
    ($0.025 for gpt-4o-mini, $0.01 for claude-sonnet-4-5); claude-haiku-4-5 has none in the
    map, so its searches stay unpriced and the record says so (tag ``price_note``)."""
    found: dict[str, int] = {}
    for rec in _records():
        if rec["status"] != 200:
            continue
        parsed = parse_response(rec["response_body"], provider=rec["provider"])
        extra = parsed.usage.extra
        if extra is None or not extra.web_searches:
            continue
        record = record_call(
            model=parsed.model, usage=parsed.usage, provider=parsed.provider, ledger=MemoryLedger()
        )
        assert record.cost is not None
        rate = BOOK.lookup(parsed.model or "")
        assert rate is not None
        if rate.web_search is None:
            assert "web_search" not in record.cost.parts
            assert "web search" in record.tags["price_note"]
        else:
            assert record.cost.parts["web_search"] == extra.web_searches * rate.web_search
        found[parsed.api] = found.get(parsed.api, 0) + 1
    assert found == {"responses": 6, "messages": 5}


@pytest.mark.shared_data
def test_web_search_rates_agree_with_litellm() -> None:
    """The per-search rate tokenomy applies is the one litellm's own calculator applies
    (``get_cost_for_anthropic_web_search`` / the default per-call web-search cost), for every
    model with searches in the shared traffic (litellm reads its local price map)."""
    litellm = pytest.importorskip("litellm")
    from litellm.litellm_core_utils.llm_cost_calc.tool_call_cost_tracking import (
        StandardBuiltInToolCostTracking,
    )

    models = set()
    for rec in _records():
        body = rec["response_body"]
        if '"web_search_requests":1' in body.replace(" ", "") or "web_search_call" in body:
            models.add(parse_response(body).model)
    assert len(models) >= 3
    for model in sorted(m for m in models if m):
        info = litellm.get_model_info(model)
        theirs = StandardBuiltInToolCostTracking.get_default_cost_for_web_search(info)
        price = BOOK.lookup(model)
        assert price is not None
        ours = price.web_search or Decimal(0)
        assert ours == Decimal(repr(theirs or 0.0)), model


def test_audio_tokens_are_priced_at_the_audio_rates_like_litellm() -> None:
    """A gpt-audio chat completion with 400 audio prompt tokens and 300 audio completion
    tokens costs the text tokens at the text rates and the audio ones at the audio rates
    ($0.0355), the figure litellm's ``cost_per_token`` gives for the same usage."""
    record = _record(_fixture("openai-chat-audio.json"))
    assert record.cost is not None
    assert record.cost.parts["audio_input"] == 400 * Decimal("0.000032")
    assert record.cost.parts["audio_output"] == 300 * Decimal("0.000064")
    assert record.total_cost == Decimal("0.0355")
    litellm = pytest.importorskip("litellm")
    from litellm.types.utils import (
        CompletionTokensDetailsWrapper,
        PromptTokensDetailsWrapper,
    )
    from litellm.types.utils import Usage as LUsage

    usage = LUsage(
        prompt_tokens=1000,
        completion_tokens=500,
        prompt_tokens_details=PromptTokensDetailsWrapper(audio_tokens=400, text_tokens=600),
        completion_tokens_details=CompletionTokensDetailsWrapper(audio_tokens=300, text_tokens=200),
    )
    p, c = litellm.cost_per_token(model="gpt-audio", usage_object=usage)
    assert abs(Decimal(repr(p + c)) - record.total_cost) < Decimal("1e-12")


@pytest.mark.shared_data
def test_recorded_image_generation_calls_are_priced_per_image() -> None:
    """The shared traffic's gpt-4.1 Responses with the image-generation tool (1, 1 and,
    streamed, 1 ``image_generation_call``) report each image's quality and size (low,
    1024x1024) and name no image model (the tool's default, gpt-image-1): each is priced at
    the price map's $0.011 per image as the ``image_generation`` part, added to the tokens'
    cost, with no ``price_note``."""
    found = []
    for rec in _records():
        if "image_generation_call" in rec["response_body"] and rec["status"] == 200:
            record = _record(rec["response_body"])
            extra = record.usage.extra
            assert extra is not None and extra.images == (("", "low", "1024x1024"),)
            assert record.cost is not None
            parts = dict(record.cost.parts)
            assert parts["image_generation"] == Decimal("0.011")
            assert record.cost.total == sum(parts.values())
            assert "price_note" not in record.tags
            found.append(extra.image_generations)
    assert found == [1, 1, 1]


def test_image_model_named_by_the_tool_and_unknown_sizes() -> None:
    """A Responses body whose ``tools`` name the image model prices its images at that
    model's rates (gpt-image-1-mini, medium, 1536x1024: $0.015); an image whose size is not
    one the price map lists (``auto``) is left out and named in ``price_note``."""
    body = {
        "id": "resp_fixture", "object": "response", "model": "gpt-4.1",
        "tools": [{"type": "image_generation", "model": "gpt-image-1-mini"}],
        "output": [
            {"type": "image_generation_call", "quality": "medium", "size": "1536x1024"},
            {"type": "image_generation_call", "quality": "medium", "size": "auto"},
        ],
        "usage": {"input_tokens": 100, "output_tokens": 20},
    }  # fmt: skip
    record = _record(json.dumps(body))
    assert record.cost is not None
    assert dict(record.cost.parts)["image_generation"] == Decimal("0.015")
    assert "1 image generation call(s) unpriced" in record.tags["price_note"]
    assert "gpt-image-1-mini medium auto" in record.tags["price_note"]


def test_new_dimensions_flow_through_cost_parts_and_the_usual_call_keeps_its_fast_path() -> None:
    """``audio_input``, ``audio_output`` and ``web_search`` are COST_DIMENSIONS; a usual
    input/output call still prices on the fast path (no parts tuple), a call with a web
    search on the general path with a ``web_search`` part."""
    assert {"audio_input", "audio_output", "web_search"} <= set(COST_DIMENSIONS)
    price = ModelPrice.per_million(input="1", output="2", web_search="0.01")
    assert price.priced(Usage(10, 5))[1] is None
    searched = Usage(10, 5).with_extra(UsageExtra(web_searches=3))
    cost = price.cost(searched)
    assert dict(cost.parts) == {
        "input": Decimal("0.00001"),
        "output": Decimal("0.00001"),
        "web_search": Decimal("0.03"),
    }


def test_usage_extra_reads_raw_usage_objects() -> None:
    """``usage_extra`` (for integrations) reads Anthropic ``server_tool_use`` and named
    iterations, OpenRouter ``cost``, Responses output items; ``None`` for a plain usage."""
    assert usage_extra({"input_tokens": 5, "output_tokens": 1}) is None
    anthropic = usage_extra(
        {"input_tokens": 5, "output_tokens": 1, "server_tool_use": {"web_search_requests": 2}}
    )
    assert anthropic == UsageExtra(web_searches=2)
    billed = usage_extra({"prompt_tokens": 5, "completion_tokens": 1, "cost": 0.0001})
    assert billed == UsageExtra(billed_usd=Decimal("0.0001"))
    calls = usage_extra({"output": [{"type": "web_search_call"}, {"type": "message"}]})
    assert calls == UsageExtra(web_searches=1)


# -- 4. a billed call is never lost to a parser's strictness --------------------------------


def test_openrouter_stream_ending_in_an_error_chunk_with_usage_is_recorded_and_flagged() -> None:
    """An OpenRouter stream whose last data event is an error (``finish_reason: error``)
    still carrying usage (1,450 + 37 tokens, $0.0002397 billed) parses (it raised "stream
    reports no usage" before) and the record keeps the counts, the bill and tag
    ``usage_note`` naming the error."""
    record = _record(_fixture("openrouter-stream-error.sse"))
    assert (record.usage.input, record.usage.output) == (1450, 37)
    assert record.billed_usd == Decimal("0.0002397")
    assert record.total_cost == Decimal("0.0002397")
    assert "Provider disconnected unexpectedly" in record.tags["usage_note"]
    assert "billed_mismatch" not in record.tags


def test_openrouter_gemini_overlapping_cache_counts_are_read_and_flagged() -> None:
    """OpenRouter's Gemini usage with ``cached_tokens`` and ``cache_write_tokens`` both
    2,161 of 2,168 prompt tokens (``UsageParseError`` before) reads as 2,161 cache reads and
    the 7 remaining prompt tokens as writes, flagged estimated with the oddity in tag
    ``usage_note``; the price-book cost then matches the bill."""
    record = _record(_fixture("openrouter-gemini-cache-overlap.json"))
    u = record.usage
    assert (u.input, u.cache_read, u.cache_write_5m, u.output) == (2168, 2161, 7, 95)
    assert record.estimated
    assert "exceed prompt_tokens (2168)" in record.tags["usage_note"]
    assert record.billed_usd == record.total_cost == Decimal("0.00030443")


def test_price_file_sets_web_search_and_audio_rates(tmp_path: Path) -> None:
    """A TOML price file may give ``web_search`` (USD per call) and audio rates per million;
    a call with 2 searches and 100 audio prompt tokens is priced with them."""
    path = tmp_path / "prices.toml"
    path.write_text(
        '[models."my-model"]\ninput_per_million = "1"\noutput_per_million = "2"\n'
        'web_search = "0.02"\naudio_input_per_million = "40"\n',
        encoding="utf-8",
    )
    book = PriceBook.from_file(path)
    usage = Usage(1000, 10).with_extra(UsageExtra(web_searches=2, audio_input=100))
    cost = book.price("my-model", usage)
    assert cost is not None
    assert dict(cost.parts) == {
        "input": Decimal("0.0009"),
        "output": Decimal("0.00002"),
        "audio_input": Decimal("0.004"),
        "web_search": Decimal("0.04"),
    }
