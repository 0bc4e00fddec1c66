"""tokenomy's response cache in LangChain, end to end through the real openai SDK clients
(ChatOpenAI, OpenAIEmbeddings) against the provider simulator: TokenomyChatModel and
TokenomyMiddleware serve invoke/stream/astream/ainvoke from a ResponseCache and record each
hit as $0 spent with the cost saved; TokenomyLLMCache behind set_llm_cache; LangChainEmbedder."""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain_core.globals import set_llm_cache
from langchain_openai import OpenAIEmbeddings
from lc_sim import openai_chat
from lc_wrap import records

import tokenomy_langchain
from tokenomy import MemoryLedger
from tokenomy.cache import LexicalFallbackEmbedder, ResponseCache
from tokenomy.testing import ProviderSimulator
from tokenomy_langchain import (
    LangChainEmbedder,
    TokenomyCallbackHandler,
    TokenomyChatModel,
    TokenomyLLMCache,
    TokenomyMiddleware,
)


def _cache(**kw: Any) -> ResponseCache:
    kw.setdefault("embedder", LexicalFallbackEmbedder())
    kw.setdefault("threshold", 0.8)
    return ResponseCache(**kw)


def _check_hits(ledger: MemoryLedger, hits: int) -> None:
    paid, *served = records(ledger)
    assert paid.cache.outcome == "miss" and paid.cost is not None and paid.cost.total > 0
    assert len(served) == hits
    for hit in served:
        assert hit.cache.outcome in ("exact", "semantic") and hit.attempt == 0
        assert hit.cost is not None and hit.cost.total == 0
        assert hit.cache.saved == paid.cost.total


async def test_chat_model_serves_every_call_style(provider_simulator: ProviderSimulator) -> None:
    """invoke (miss), invoke again (exact), a rewording (semantic), stream and astream
    (replayed in several chunks) and ainvoke: the provider is asked once; five hits recorded."""
    ledger = MemoryLedger()
    model = TokenomyChatModel(openai_chat(provider_simulator), policies=[_cache()], ledger=ledger)
    first = model.invoke("What is the capital of France?")
    assert model.invoke("What is the capital of France?").content == first.content
    assert model.invoke("what is the capital of france ?").content == first.content
    chunks = [c.content for c in model.stream("What is the capital of France?")]
    assert len([c for c in chunks if c]) > 1 and "".join(map(str, chunks)) == first.content
    parts = [c.content async for c in model.astream("What is the capital of France?")]
    assert "".join(map(str, parts)) == first.content
    assert (await model.ainvoke("What is the capital of France?")).content == first.content
    assert len(provider_simulator.calls) == 1
    _check_hits(ledger, 5)
    semantic = [r for r in records(ledger) if r.cache.outcome == "semantic"]
    assert len(semantic) == 1 and 0.8 <= (semantic[0].cache.similarity or 0) < 1


def test_streamed_miss_is_stored_when_it_ends(provider_simulator: ProviderSimulator) -> None:
    """A streamed call that misses is stored once its stream is read; the next call hits."""
    ledger = MemoryLedger()
    model = TokenomyChatModel(openai_chat(provider_simulator), policies=[_cache()], ledger=ledger)
    text = "".join(str(c.content) for c in model.stream("Name three rivers."))
    assert model.invoke("Name three rivers.").content == text
    assert len(provider_simulator.calls) == 1
    _check_hits(ledger, 1)


def test_tenants_are_isolated(provider_simulator: ProviderSimulator) -> None:
    """namespace_tags=("tenant",): the same question from two tenants is asked twice, again
    from the first tenant is a hit, and a call outside any tenant block is never cached."""
    model = TokenomyChatModel(
        openai_chat(provider_simulator), policies=[_cache(namespace_tags=("tenant",))],
        ledger=MemoryLedger(),
    )
    for tenant in ("acme", "globex", "acme"):
        with tokenomy_langchain.track(tenant=tenant):
            model.invoke("What is our refund policy?")
    model.invoke("What is our refund policy?")
    model.invoke("What is our refund policy?")
    assert len(provider_simulator.calls) == 4


def test_middleware_agent_from_cache(provider_simulator: ProviderSimulator) -> None:
    """A create_agent agent with TokenomyMiddleware([ResponseCache]): the second run of the
    same question is answered from the cache (the provider asked once)."""
    ledger = MemoryLedger()
    agent = create_agent(
        openai_chat(provider_simulator), tools=[],
        middleware=[TokenomyMiddleware([_cache()], ledger=ledger)],
    )
    a = agent.invoke({"messages": [{"role": "user", "content": "Capital of Peru?"}]})
    b = agent.invoke({"messages": [{"role": "user", "content": "Capital of Peru?"}]})
    assert a["messages"][-1].content == b["messages"][-1].content
    assert len(provider_simulator.calls) == 1
    _check_hits(ledger, 1)


def _embeddings(sim: ProviderSimulator) -> OpenAIEmbeddings:
    return OpenAIEmbeddings(
        model="text-embedding-3-small", base_url=sim.openai_base_url, api_key="test",  # type: ignore[arg-type]
        max_retries=0, check_embedding_ctx_length=False,
    )


def test_langchain_embeddings_drive_the_semantic_lookup(provider_simulator: ProviderSimulator) -> None:
    """LangChainEmbedder(OpenAIEmbeddings) embeds the normalised last turn through the real
    SDK: a differently cased question (another exact key, the same normalised text) is a
    semantic hit at similarity 1; each text is embedded once (the vector is kept)."""
    ledger = MemoryLedger()
    cache = ResponseCache(embedder=LangChainEmbedder(_embeddings(provider_simulator)), threshold=0.99)
    model = TokenomyChatModel(openai_chat(provider_simulator), policies=[cache], ledger=ledger)
    first = model.invoke("How Do I Reset My Password?")
    second = model.invoke("how do i reset my password?")
    assert second.content == first.content
    chats = [c for c in provider_simulator.calls if c.api != "embeddings"]
    embeds = [c for c in provider_simulator.calls if c.api == "embeddings"]
    assert len(chats) == 1 and len(embeds) == 1
    assert records(ledger)[-1].cache.outcome == "semantic"


def test_set_llm_cache_seam(provider_simulator: ProviderSimulator) -> None:
    """TokenomyLLMCache behind set_llm_cache: a plain ChatOpenAI's repeat and rewording are
    served by the cache, recorded by the handler as hits with the cost saved; tenants (from
    track() tags) do not share answers."""
    llm_cache = TokenomyLLMCache(_cache(namespace_tags=("tenant",)))
    set_llm_cache(llm_cache)
    ledger = MemoryLedger()
    handler = TokenomyCallbackHandler(ledger=ledger)
    try:
        model = openai_chat(provider_simulator)
        with tokenomy_langchain.track(tenant="acme"):
            first = model.invoke("What is the capital of Spain?", config={"callbacks": [handler]})
            again = model.invoke("what is the capital of spain ?", config={"callbacks": [handler]})
        with tokenomy_langchain.track(tenant="globex"):
            model.invoke("What is the capital of Spain?", config={"callbacks": [handler]})
    finally:
        set_llm_cache(None)
    assert again.content == first.content
    assert len(provider_simulator.calls) == 2
    paid, hit, other = records(ledger)
    assert hit.cache.outcome == "exact" and hit.cost is not None and hit.cost.total == 0
    assert paid.cost is not None and hit.cache.saved == paid.cost.total
    assert other.cache.outcome == "miss"
    assert llm_cache.cache.stats.semantic_hits == 1
