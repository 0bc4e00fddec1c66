"""tokenomy's response cache in LlamaIndex (which has no LLM cache), end to end through the
real openai SDK (llama-index-llms-openai, OpenAIEmbedding) against the provider simulator:
TokenomyLLM serves chat/complete, their streams and async forms from a ResponseCache, each
hit recorded as $0 spent with the cost saved; LlamaIndexEmbedder drives the semantic lookup."""

from __future__ import annotations

import pytest
from li_wrapper_helpers import embed_model, openai_llm, wrap
from llama_index.core.base.llms.types import ChatMessage

import tokenomy_llamaindex as tli
from tokenomy import CostRecord, MemoryLedger
from tokenomy.cache import LexicalFallbackEmbedder, ResponseCache
from tokenomy.testing import ProviderSimulator
from tokenomy.testing.pytest_plugin import provider_simulator  # noqa: F401


@pytest.fixture
def sim(provider_simulator: ProviderSimulator) -> ProviderSimulator:  # noqa: F811
    """The running simulator of this test."""
    return provider_simulator


def _records(ledger: MemoryLedger) -> list[CostRecord]:
    return sorted(ledger.query(), key=lambda r: r.timestamp)


def _check(ledger: MemoryLedger, hits: int) -> None:
    paid, *served = _records(ledger)
    assert paid.cost is not None and paid.cost.total > 0 and paid.cache.outcome == "miss"
    assert len(served) == hits
    for hit in served:
        assert hit.cache.outcome in ("exact", "semantic") and hit.attempt == 0
        assert hit.cost is not None and hit.cost.total == 0 and hit.cache.saved == paid.cost.total


def _cache() -> ResponseCache:
    return ResponseCache(embedder=LexicalFallbackEmbedder(), threshold=0.8)


async def test_chat_every_style_from_the_cache(sim: ProviderSimulator, ledger: MemoryLedger) -> None:
    """chat (miss), chat again, a rewording, stream_chat (several pieces), achat and
    astream_chat: one provider call, five hits recorded."""
    llm = wrap(openai_llm(sim), ledger, [_cache()])
    ask = [ChatMessage(role="user", content="Tell me about Paris in some detail.")]
    first = llm.chat(ask).message.content
    assert llm.chat(ask).message.content == first
    reworded = [ChatMessage(role="user", content="tell me about paris in some detail")]
    assert llm.chat(reworded).message.content == first
    pieces = [r.delta for r in llm.stream_chat(ask)]
    assert len([p for p in pieces if p]) > 1 and "".join(p or "" for p in pieces) == first
    assert (await llm.achat(ask)).message.content == first
    text = ""
    async for r in await llm.astream_chat(ask):
        text += r.delta or ""
    assert text == first
    assert len(sim.calls) == 1
    _check(ledger, 5)


async def test_complete_every_style_from_the_cache(sim: ProviderSimulator, ledger: MemoryLedger) -> None:
    """complete, stream_complete, acomplete and astream_complete of one prompt: one provider
    call, three hits."""
    llm = wrap(openai_llm(sim), ledger, [_cache()])
    first = llm.complete("Write a haiku about the sea.").text
    assert "".join(r.delta or "" for r in llm.stream_complete("Write a haiku about the sea.")) == first
    assert (await llm.acomplete("Write a haiku about the sea.")).text == first
    text = ""
    async for r in await llm.astream_complete("Write a haiku about the sea."):
        text += r.delta or ""
    assert text == first
    assert len(sim.calls) == 1
    _check(ledger, 3)


def test_llamaindex_embedding_drives_the_semantic_lookup(sim: ProviderSimulator, ledger: MemoryLedger) -> None:
    """LlamaIndexEmbedder(OpenAIEmbedding) embeds the normalised last turn through the real
    SDK: a differently cased question is a semantic hit at similarity 1."""
    cache = ResponseCache(embedder=tli.LlamaIndexEmbedder(embed_model(sim)), threshold=0.99)
    llm = wrap(openai_llm(sim), ledger, [cache])
    first = llm.chat([ChatMessage(role="user", content="How Do I Reset My Password?")])
    second = llm.chat([ChatMessage(role="user", content="how do i reset my password?")])
    assert second.message.content == first.message.content
    assert [c.api for c in sim.calls].count("chat.completions") == 1
    assert _records(ledger)[-1].cache.outcome == "semantic"
