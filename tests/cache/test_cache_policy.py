"""ResponseCache as a pipeline policy: exact and semantic hits, what is and is not stored,
TTL, LRU, invalidation, and how hits are recorded (MockSender plays the provider)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tokenomy import MemoryLedger, ModelRequest, ModelResponse, Pipeline, track
from tokenomy.cache import (
    CacheRules,
    LexicalFallbackEmbedder,
    MemoryCacheBackend,
    ResponseCache,
    exact_key,
    scope_key,
    semantic_text,
)
from tokenomy.exceptions import ConfigurationError
from tokenomy.testing import MockSender


def ask(text: str, *, system: str = "Be brief.", stream: bool = False, **params: object) -> ModelRequest:
    return ModelRequest(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
        params=params,
        stream=stream,
    )


def cache(**kw: object) -> ResponseCache:
    kw.setdefault("embedder", LexicalFallbackEmbedder())
    kw.setdefault("threshold", 0.8)
    return ResponseCache(**kw)  # type: ignore[arg-type]


def test_exact_then_semantic_hit_recorded_as_saved() -> None:
    """A repeat is an exact hit, a rewording a semantic one; each is recorded as attempt 0,
    $0 spent, the first call's cost as saved and the similarity."""
    ledger = MemoryLedger()
    send = MockSender(lambda r: "Paris is the capital of France.")
    p = Pipeline([cache()], ledger=ledger)
    first = p.call(ask("What is the capital of France?"), send)
    again = p.call(ask("What is the capital of France?"), send)
    reworded = p.call(ask("what is the capital of france ?"), send)
    assert send.calls == 1
    assert first.cache is None
    assert again.cache is not None and again.cache.outcome == "exact"
    assert reworded.cache is not None and reworded.cache.outcome == "semantic"
    assert reworded.text == first.text
    miss, exact, semantic = ledger.query()
    assert miss.cost is not None and miss.cost.total > 0
    for hit in (exact, semantic):
        assert hit.attempt == 0
        assert hit.cost is not None and hit.cost.total == Decimal(0)
        assert hit.cache.saved == miss.cost.total
    assert exact.cache.similarity == 1.0
    assert semantic.cache.similarity is not None and 0.8 <= semantic.cache.similarity < 1.0


def test_stream_hit_replays_chunks() -> None:
    """A streamed call that hits gets the cached answer as several chunks, recorded as a
    streamed hit; a streamed miss is stored when its stream ends."""
    ledger = MemoryLedger()
    send = MockSender(lambda r: "A fairly long answer about the capital of France, Paris.")
    p = Pipeline([cache()], ledger=ledger)
    miss = p.call(ask("Capital of France?", stream=True), send)
    assert "".join(c.text for c in miss) == "A fairly long answer about the capital of France, Paris."
    hit = p.call(ask("Capital of France?", stream=True), send)
    chunks = [c.text for c in hit]
    assert len([c for c in chunks if c]) > 1
    assert "".join(chunks) == "A fairly long answer about the capital of France, Paris."
    assert send.calls == 1
    assert ledger.query()[-1].cache.outcome == "exact"
    assert ledger.query()[-1].streamed


async def test_async_paths() -> None:
    """acall serves hits too (complete and streamed)."""
    send = MockSender(lambda r: "Four.")
    p = Pipeline([cache()])
    await p.acall(ask("What is two plus two?"), send.asend)
    hit = await p.acall(ask("What is two plus two?"), send.asend)
    streamed = await p.acall(ask("What is two plus two?", stream=True), send.asend)
    text = "".join([c.text async for c in streamed])
    assert hit.cache is not None and text == "Four."
    assert send.calls == 1


def test_scope_separates_system_prompt_model_and_params() -> None:
    """A paraphrase under another system prompt, model or temperature is not a hit."""
    send = MockSender(lambda r: "x")
    c = cache()
    p = Pipeline([c])
    p.call(ask("What is the capital of France?"), send)
    p.call(ask("What is the capital of France?", system="Answer in French."), send)
    p.call(ask("What is the capital of France?", temperature=0.2), send)
    other = ask("What is the capital of France?").replace(model="gpt-4o")
    p.call(other, send)
    assert send.calls == 4
    assert scope_key(ask("a")) != scope_key(ask("a", system="b"))


def test_history_must_match_by_default() -> None:
    """The same last turn after different earlier turns is not a hit (history="exact"), and
    is with history="ignore"."""
    def convo(before: str) -> ModelRequest:
        return ModelRequest(model="gpt-4o-mini", messages=[
            {"role": "user", "content": before}, {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "and in winter?"}])
    for history, calls in (("exact", 2), ("ignore", 1)):
        send = MockSender(lambda r: "x")
        p = Pipeline([cache(history=history)])
        p.call(convo("weather in Oslo"), send)
        p.call(convo("weather in Rome"), send)
        assert send.calls == calls, history


def test_guards_block_number_and_negation_hits() -> None:
    """Lexically close questions differing in a number or a negation are not hits."""
    send = MockSender(lambda r: f"answer {send.calls}")
    c = cache(threshold=0.5)
    p = Pipeline([c])
    p.call(ask("How do I prepare for the class 10 exam?"), send)
    p.call(ask("How do I prepare for the class 12 exam?"), send)
    p.call(ask("Is it safe to eat raw eggs?"), send)
    p.call(ask("Is it not safe to eat raw eggs?"), send)
    p.call(ask("How do I convert dollars to rupees?"), send)
    p.call(ask("How do I convert rupees to dollars?"), send)
    assert send.calls == 6
    assert c.stats.guarded == {"numbers": 1, "negation": 1, "roles": 1}


def test_unsafe_answers_are_not_stored() -> None:
    """Truncated answers, bad tool-call arguments, empty answers and failures are not stored."""
    c = cache()
    p = Pipeline([c])
    trunc = MockSender(lambda r: "a long answer cut short by the limit")
    p.call(ask("Tell me a story", max_tokens=2), trunc)
    p.call(ask("Tell me a story", max_tokens=2), trunc)
    assert trunc.calls == 2
    bad_tool = MockSender(lambda r: ModelResponse(message={"role": "assistant", "content": "", "tool_calls": [
        {"id": "1", "type": "function", "function": {"name": "f", "arguments": "{not json"}}]}, finish_reason="tool_calls"))
    p.call(ask("call f"), bad_tool)
    p.call(ask("call f"), bad_tool)
    assert bad_tool.calls == 2
    assert c.stats.not_stored["finish_reason"] == 2
    assert c.stats.not_stored["tool_call_error"] == 2


def test_temperature_bound_and_opt_in() -> None:
    """Above max_temperature the cache is bypassed; max_temperature=None opts in."""
    send = MockSender(lambda r: "x")
    p = Pipeline([cache(rules=CacheRules(max_temperature=0.5))])
    p.call(ask("q", temperature=0.9), send)
    p.call(ask("q", temperature=0.9), send)
    assert send.calls == 2
    p = Pipeline([cache(rules=CacheRules(max_temperature=None))])
    p.call(ask("q", temperature=1.5), send)
    p.call(ask("q", temperature=1.5), send)
    assert send.calls == 3


def test_tool_error_result_bypasses() -> None:
    """A request answering a tool result that reports an error is not cached."""
    req = ModelRequest(model="gpt-4o-mini", messages=[
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "1", "content": "Error: service down"}])
    send = MockSender(lambda r: "sorry")
    c = cache()
    Pipeline([c]).call(req, send)
    Pipeline([c]).call(req, send)
    assert send.calls == 2 and c.stats.bypassed["tool_error"] == 2


def test_ttl_expires_entries() -> None:
    """An entry past its TTL is not served."""
    now = [1000.0]
    c = cache(ttl=10, clock=lambda: now[0])
    send = MockSender(lambda r: "x")
    p = Pipeline([c])
    p.call(ask("q1"), send)
    now[0] += 9
    p.call(ask("q1"), send)
    now[0] += 2
    p.call(ask("q1"), send)
    assert send.calls == 2


def test_lru_size_limit() -> None:
    """Past max_entries the least recently used entry goes."""
    backend = MemoryCacheBackend(max_entries=2)
    c = cache(backend=backend, semantic=False)
    send = MockSender(lambda r: "x")
    p = Pipeline([c])
    p.call(ask("one"), send)
    p.call(ask("two"), send)
    p.call(ask("one"), send)  # one is now the most recent
    p.call(ask("three"), send)  # evicts two
    assert backend.count() == 2 and backend.evicted == 1
    p.call(ask("one"), send)
    assert send.calls == 3
    p.call(ask("two"), send)
    assert send.calls == 4


def test_invalidate_by_key_and_namespace() -> None:
    """invalidate(namespace, key) forgets one answer; invalidate(namespace) all of them."""
    c = cache(semantic=False)
    send = MockSender(lambda r: "x")
    p = Pipeline([c])
    p.call(ask("one"), send)
    p.call(ask("two"), send)
    assert c.invalidate("default", exact_key(ask("one"))) == 1
    p.call(ask("two"), send)
    p.call(ask("one"), send)
    assert send.calls == 3
    assert c.invalidate("default") == 2
    p.call(ask("two"), send)
    assert send.calls == 4


def test_namespace_tags_isolate_and_bypass_without_tag() -> None:
    """With namespace_tags, tenants never share answers, and a call without the tag is not
    cached at all."""
    c = cache(namespace_tags=("tenant",))
    send = MockSender(lambda r: f"answer for {r.tags.get('tenant') or 'block'}")
    p = Pipeline([c])
    a = p.call(ask("q").with_tags(tenant="a"), send)
    b = p.call(ask("q").with_tags(tenant="b"), send)
    with track(tenant="a"):
        again = p.call(ask("q"), send)
    p.call(ask("q"), send)
    p.call(ask("q"), send)
    assert a.text != b.text and again.text == a.text
    assert send.calls == 4 and c.stats.bypassed["no_namespace"] == 2


def test_normalisation() -> None:
    """Whitespace and Unicode width do not change the exact key; case does not change the
    semantic text; non-text content has no semantic text."""
    assert exact_key(ask("What  is\n it?")) == exact_key(ask("What is it?"))
    assert exact_key(ask("What is it?")) != exact_key(ask("what is it?"))
    assert semantic_text(ask("  What IS it? ")) == "what is it?"
    img = ModelRequest(model="m", messages=[{"role": "user", "content": [
        {"type": "text", "text": "what is this"}, {"type": "image_url", "image_url": {"url": "x"}}]}])
    assert semantic_text(img) is None


def test_bad_configuration_is_refused() -> None:
    """Out-of-range settings raise ConfigurationError naming the value."""
    with pytest.raises(ConfigurationError, match="threshold"):
        ResponseCache(threshold=1.5)
    with pytest.raises(ConfigurationError, match="ttl"):
        ResponseCache(ttl=0)
    with pytest.raises(ConfigurationError, match="max_entries"):
        MemoryCacheBackend(max_entries=0)
