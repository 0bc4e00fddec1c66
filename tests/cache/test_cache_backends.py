"""Every backend (memory, SQLite, Redis, GPTCache) keeps the same contract: get/put by
namespace and key, semantic search only within a namespace and scope, TTL, delete and
invalidate; and an adversary namespace never receives another namespace's answer."""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path

import pytest
from cache_backends import make_backend

from services import drop_redis_prefix
from tokenomy import ModelRequest, Pipeline
from tokenomy.cache import CacheBackend, CacheEntry, LexicalFallbackEmbedder, ResponseCache
from tokenomy.cache._index import to_bytes
from tokenomy.testing import MockSender

EMBED = LexicalFallbackEmbedder()


def entry(ns: str, key: str, text: str, scope: str = "s", expires: float | None = None) -> CacheEntry:
    return CacheEntry(
        namespace=ns, key=key, scope=scope, text=text, vector=to_bytes(EMBED.embed([text])[0]),
        answer={"message": {"role": "assistant", "content": f"{ns}:{key}"}, "usage": None},
        created=1.0, expires=expires,
    )


def test_get_put_search_delete(backend: CacheBackend) -> None:
    """An entry is found by key and by a near vector in its namespace and scope only."""
    backend.put(entry("a", "k1", "how do i learn python quickly"))
    backend.put(entry("a", "k2", "best pizza in naples", scope="other"))
    got = backend.get("a", "k1")
    assert got is not None and got.answer["message"]["content"] == "a:k1"
    assert backend.get("b", "k1") is None
    near = to_bytes(EMBED.embed(["how do i learn python fast"])[0])
    found = backend.search("a", "s", near, 4)
    assert found and found[0][0] == "k1" and found[0][1] > 0.6
    assert [k for k, _ in backend.search("a", "other", near, 4)] in ([], ["k2"])
    assert all(k != "k1" for k, _ in backend.search("b", "s", near, 4))
    assert backend.delete("a", "k1") is True
    assert backend.get("a", "k1") is None
    assert backend.delete("a", "k1") is False


def test_ttl_and_invalidate(backend: CacheBackend) -> None:
    """An expired entry is not returned; invalidate(namespace) removes only that namespace."""
    expires = time.time() + 100  # Redis also expires the key itself, in real time
    backend.put(entry("a", "old", "question one", expires=expires))
    assert backend.get("a", "old", now=expires - 1) is not None
    assert backend.get("a", "old", now=expires + 1) is None
    backend.put(entry("a", "k", "question two"))
    backend.put(entry("b", "k", "question two"))
    assert backend.invalidate("a") == 1
    assert backend.get("a", "k") is None
    assert backend.get("b", "k") is not None
    assert backend.count("b") == 1


def test_adversary_never_receives_another_namespace(backend: CacheBackend, tmp_path: Path) -> None:
    """An adversary namespace stores near-identical copies of every victim prompt (answers
    marked as its own) and then asks 10,000 paraphrases: it gets its own answers or misses,
    never a victim's. The victims' lookups likewise only return their own."""
    rng = random.Random(7)
    subjects = ["python", "rust", "pizza", "taxes", "visa", "diet", "loans", "guitar", "chess", "bikes"]
    prompts = [f"how do i get better at {s} number {i}" for s in subjects for i in range(10)]
    caches = {
        ns: ResponseCache(backend=backend, embedder=EMBED, threshold=0.5, guards=(), namespace=ns)
        for ns in ("victim-1", "victim-2", "adversary")
    }
    send = MockSender(lambda r: "fresh")
    for ns in ("victim-1", "victim-2"):
        for p in prompts[:50]:
            caches[ns].store(_req(p), _answer(f"{ns} secret for {p}"))
    for p in prompts[:50]:  # the adversary's near-duplicates
        caches["adversary"].store(_req(p + " please"), _answer(f"adversary answer for {p}"))
    leaks = served = 0
    attempts = 10_000
    adversary = Pipeline([caches["adversary"]])
    for i in range(attempts):
        p = rng.choice(prompts)
        variant = rng.choice([p, p + "?", p.upper(), p + " please", "so " + p])
        if i % 10 == 0:  # a tenth through the whole pipeline, the rest through lookup()
            text = adversary.call(_req(variant), send).text
        else:
            hit = caches["adversary"].lookup(_req(variant))
            text = "" if hit is None else hit.entry.answer["message"]["content"]
        served += bool(text) and text != "fresh"
        leaks += "secret" in text
    assert leaks == 0
    assert served > 0  # the adversary does get its own answers
    for ns in ("victim-1", "victim-2"):
        hit = caches[ns].lookup(_req(prompts[3] + " please"))
        assert hit is not None and hit.entry.answer["message"]["content"].startswith(ns)


def _req(text: str) -> ModelRequest:
    return ModelRequest(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])


def _answer(text: str) -> object:
    from tokenomy import ModelResponse

    return ModelResponse(message={"role": "assistant", "content": text}, finish_reason="stop")


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_processes_stay_in_step(kind: str, tmp_path: Path) -> None:
    """Two backend objects on the same store (as two processes would be): an entry one
    stores is found semantically by the other; an invalidation by one is seen by the other;
    a size limit evicts the least recently used across both."""
    prefix = f"tokenomy-test-cache-{uuid.uuid4().hex[:12]}"
    one = make_backend(kind, tmp_path, prefix=prefix, max_entries=3)
    two = make_backend(kind, tmp_path, prefix=prefix, max_entries=3)
    try:
        two.search("a", "s", to_bytes(EMBED.embed(["x"])[0]), 1)  # built before the put
        one.put(entry("a", "k1", "how do i learn python quickly"))
        near = to_bytes(EMBED.embed(["how do i learn python fast"])[0])
        assert [k for k, _ in two.search("a", "s", near, 2)] == ["k1"]
        for i in range(2, 5):
            two.put(entry("a", f"k{i}", f"other question {i}"))
        assert one.count() == 3
        assert one.get("a", "k1") is None  # evicted (least recently used)
        assert "k1" not in [k for k, _ in one.search("a", "s", near, 4)]
        assert two.invalidate("a") == 3
        assert one.search("a", "s", to_bytes(EMBED.embed(["other question 2"])[0]), 4) == []
    finally:
        one.close()
        two.close()
        if kind == "redis":
            drop_redis_prefix(prefix)


def test_gptcache_runtime_install_and_yaml_blocked(tmp_path: Path) -> None:
    """Building a GPTCacheBackend replaces GPTCache's pip-installing import helper and its
    unsafe-YAML config loader with functions that refuse."""
    import gptcache.adapter.api as api
    import gptcache.utils as utils

    from tokenomy.exceptions import ConfigurationError, MissingDependencyError

    make_backend("gptcache", tmp_path)
    with pytest.raises(MissingDependencyError, match="pip install is blocked"):
        utils.prompt_install("some-package")
    with pytest.raises(MissingDependencyError):
        utils.import_pymilvus()  # not installed: GPTCache would pip install it here
    with pytest.raises(ConfigurationError, match="unsafe"):
        api.init_similar_cache_from_config("config.yaml")
