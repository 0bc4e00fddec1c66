"""Exact and semantic response caching, as a pipeline policy (:class:`ResponseCache`).

* :class:`ResponseCache`: the policy (exact key, then paraphrase search with guards), placed
  like any other by ``TokenomyChatModel``/``TokenomyMiddleware``/``TokenomyLLM``; a hit is
  recorded as $0 spent with the cost saved and the similarity.
* Backends (:class:`CacheBackend`): :class:`MemoryCacheBackend`, :class:`SQLiteCacheBackend`
  (one machine), :class:`RedisCacheBackend` (shared; usearch indexes kept in step through a
  Redis stream), :class:`GPTCacheBackend` (an existing GPTCache data manager).
* Embedders: :class:`LexicalFallbackEmbedder`, :class:`CachedEmbedder`; the offline MiniLM is
  :class:`tokenomy.MiniLMEmbedder`.
* Guards (:class:`Guard`: :class:`NumberGuard`, :class:`NegationGuard`, :class:`RoleGuard`,
  :class:`OppositeGuard`, :class:`CodeGuard`,
  :class:`EntityGuard`), :class:`CacheRules`, and calibration on labelled pairs
  (:func:`read_pairs`, :func:`score_pairs`, :func:`calibrate`, :func:`evaluate`).

Every name loads on first use; ``tokenomy.cache`` imports nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenomy.cache._backend import CacheBackend, MemoryCacheBackend
    from tokenomy.cache._cache import DEFAULT_THRESHOLD, CacheHit, CacheStats, ResponseCache
    from tokenomy.cache._calibrate import (
        Pair,
        PairScores,
        ThresholdPoint,
        calibrate,
        evaluate,
        read_pairs,
        score_pairs,
    )
    from tokenomy.cache._embed import CachedEmbedder, LexicalFallbackEmbedder
    from tokenomy.cache._entry import CacheEntry
    from tokenomy.cache._gptcache import GPTCacheBackend
    from tokenomy.cache._guards import (
        DEFAULT_GUARDS,
        CodeGuard,
        EntityGuard,
        Guard,
        NegationGuard,
        NumberGuard,
        OppositeGuard,
        RoleGuard,
    )
    from tokenomy.cache._normalize import exact_key, normalize_text, scope_key, semantic_text
    from tokenomy.cache._redis import RedisCacheBackend
    from tokenomy.cache._rules import CacheRules
    from tokenomy.cache._sqlite import SQLiteCacheBackend

_LAZY = {
    "CacheBackend": "tokenomy.cache._backend",
    "MemoryCacheBackend": "tokenomy.cache._backend",
    "DEFAULT_THRESHOLD": "tokenomy.cache._cache",
    "CacheHit": "tokenomy.cache._cache",
    "CacheStats": "tokenomy.cache._cache",
    "ResponseCache": "tokenomy.cache._cache",
    "Pair": "tokenomy.cache._calibrate",
    "PairScores": "tokenomy.cache._calibrate",
    "ThresholdPoint": "tokenomy.cache._calibrate",
    "calibrate": "tokenomy.cache._calibrate",
    "evaluate": "tokenomy.cache._calibrate",
    "read_pairs": "tokenomy.cache._calibrate",
    "score_pairs": "tokenomy.cache._calibrate",
    "CachedEmbedder": "tokenomy.cache._embed",
    "LexicalFallbackEmbedder": "tokenomy.cache._embed",
    "CacheEntry": "tokenomy.cache._entry",
    "GPTCacheBackend": "tokenomy.cache._gptcache",
    "DEFAULT_GUARDS": "tokenomy.cache._guards",
    "CodeGuard": "tokenomy.cache._guards",
    "OppositeGuard": "tokenomy.cache._guards",
    "EntityGuard": "tokenomy.cache._guards",
    "Guard": "tokenomy.cache._guards",
    "NegationGuard": "tokenomy.cache._guards",
    "NumberGuard": "tokenomy.cache._guards",
    "RoleGuard": "tokenomy.cache._guards",
    "exact_key": "tokenomy.cache._normalize",
    "normalize_text": "tokenomy.cache._normalize",
    "scope_key": "tokenomy.cache._normalize",
    "semantic_text": "tokenomy.cache._normalize",
    "RedisCacheBackend": "tokenomy.cache._redis",
    "CacheRules": "tokenomy.cache._rules",
    "SQLiteCacheBackend": "tokenomy.cache._sqlite",
}

__all__ = [  # noqa: RUF022 - plain sorted() order
    "CacheBackend",
    "CacheEntry",
    "CacheHit",
    "CacheRules",
    "CacheStats",
    "CachedEmbedder",
    "CodeGuard",
    "DEFAULT_GUARDS",
    "DEFAULT_THRESHOLD",
    "EntityGuard",
    "GPTCacheBackend",
    "Guard",
    "LexicalFallbackEmbedder",
    "MemoryCacheBackend",
    "NegationGuard",
    "NumberGuard",
    "OppositeGuard",
    "Pair",
    "PairScores",
    "RedisCacheBackend",
    "ResponseCache",
    "RoleGuard",
    "SQLiteCacheBackend",
    "ThresholdPoint",
    "calibrate",
    "evaluate",
    "exact_key",
    "normalize_text",
    "read_pairs",
    "scope_key",
    "score_pairs",
    "semantic_text",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenomy.cache' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
