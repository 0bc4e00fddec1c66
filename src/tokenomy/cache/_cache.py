"""``ResponseCache``: exact and semantic caching as a pipeline policy.

::

    request ─► namespace (fixed, a function, or track()/request tags) ─► rules.skip_request
      │ exact key ─► backend.get(namespace, key)                      ─► hit "exact"
      │ semantic text ─► embed (kept vectors) ─► backend.search(namespace, scope, k)
      │   best first: similarity >= threshold, entry live, every guard passes ─► hit "semantic"
      ▼ miss: call_next(request); when the answer is complete (a stream: when it ends) and
        rules.skip_answer passes ─► backend.put(entry) (TTL, LRU size limit)

A hit is a :meth:`~tokenomy.ModelResponse.replay` of the stored answer (complete, or a stream of
its text in pieces for a streamed call) with ``cache`` = :class:`~tokenomy.CacheInfo` (outcome,
similarity): the pipeline records it as served, $0 spent, the stored usage priced as the
saving. Namespaces are hard walls: every backend call names the namespace, and a semantic
search only sees its own namespace's and scope's index.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tokenomy.cache._backend import CacheBackend, MemoryCacheBackend
from tokenomy.cache._embed import CachedEmbedder, default_embedder
from tokenomy.cache._entry import CacheEntry, answer_of, response_of
from tokenomy.cache._guards import DEFAULT_GUARDS, Guard, check_guards
from tokenomy.cache._normalize import History, exact_key, scope_key, semantic_text
from tokenomy.cache._rules import CacheRules
from tokenomy.exceptions import ConfigurationError
from tokenomy.pipeline._policy import AsyncCallNext, CallNext, Policy
from tokenomy.pipeline._request import ModelRequest
from tokenomy.pipeline._response import ModelResponse
from tokenomy.rag._embed import Embedder

__all__ = ["DEFAULT_THRESHOLD", "CacheHit", "CacheStats", "ResponseCache"]

#: MiniLM cosine threshold calibrated with the default guards for 90% precision (Wilson
#: margin z=1.5) on the 20,000 shared Quora pairs (``tokenomy cache calibrate``); calibrate
#: again for another embedder.
DEFAULT_THRESHOLD = 0.965

NamespaceOf = Callable[[ModelRequest], "str | None"]


@dataclass(frozen=True, slots=True)
class CacheHit:
    """A lookup's answer: the entry, ``"exact"`` or ``"semantic"``, and the similarity."""

    entry: CacheEntry
    outcome: str
    similarity: float


class CacheStats:
    """Running counts of one cache (thread-safe enough: counters under one lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exact_hits = 0
        self.semantic_hits = 0
        self.misses = 0
        self.stored = 0
        self.bypassed: Counter[str] = Counter()
        self.not_stored: Counter[str] = Counter()
        self.guarded: Counter[str] = Counter()

    def count(self, name: str, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                setattr(self, name, getattr(self, name) + 1)
            else:
                getattr(self, name)[key] += 1

    @property
    def hits(self) -> int:
        return self.exact_hits + self.semantic_hits

    def as_dict(self) -> dict[str, Any]:
        return {
            "exact_hits": self.exact_hits,
            "semantic_hits": self.semantic_hits,
            "misses": self.misses,
            "stored": self.stored,
            "bypassed": dict(self.bypassed),
            "not_stored": dict(self.not_stored),
            "guarded": dict(self.guarded),
        }

    def __repr__(self) -> str:
        return f"CacheStats({self.as_dict()})"


class ResponseCache(Policy):
    """Exact + semantic response cache (module docstring).

    * ``backend``: a :class:`CacheBackend` (default: a :class:`MemoryCacheBackend`).
    * ``semantic``: also match paraphrases of the last user turn; ``embedder``: any
      :class:`tokenomy.rag.Embedder` (default: the offline MiniLM, extra
      ``tokenomy[embeddings]``; :class:`LexicalFallbackEmbedder` needs nothing);
      ``threshold``: the cosine similarity a semantic hit needs (calibrate it for your
      embedder with ``tokenomy cache calibrate``); ``guards``: checks a semantic hit must
      pass (numbers, negation, swapped roles by default).
    * ``namespace``: a fixed name or ``fn(request) -> name``; or ``namespace_tags``: the
      namespace is those tags' values (the request's, else its ``track()`` blocks'), and a call
      lacking one bypasses the cache (never shared by accident).
    * ``ttl``: seconds an entry lives (``None``: until evicted); ``rules``: what is safe to
      cache (:class:`CacheRules`); ``history``: ``"exact"`` (earlier turns must match) or
      ``"ignore"``.
    """

    def __init__(
        self,
        *,
        backend: CacheBackend | None = None,
        semantic: bool = True,
        embedder: Embedder | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        guards: Sequence[Guard] = DEFAULT_GUARDS,
        namespace: str | NamespaceOf = "default",
        namespace_tags: Sequence[str] = (),
        ttl: float | None = None,
        rules: CacheRules | None = None,
        history: History = "exact",
        candidates: int = 4,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ConfigurationError(f"threshold must be a cosine in (0, 1], got {threshold!r}")
        if ttl is not None and ttl <= 0:
            raise ConfigurationError(f"ttl must be a positive number of seconds, got {ttl!r}")
        if history not in ("exact", "ignore"):
            raise ConfigurationError(f"history must be 'exact' or 'ignore', got {history!r}")
        self.backend = backend if backend is not None else MemoryCacheBackend()
        self.semantic = semantic
        self._embedder = embedder
        self._cached: CachedEmbedder | None = None
        self.threshold = float(threshold)
        self.guards = tuple(guards)
        self.namespace = namespace
        self.namespace_tags = tuple(namespace_tags)
        self.ttl = ttl
        self.rules = rules or CacheRules()
        self.history: History = history
        self.candidates = max(1, int(candidates))
        self.clock = clock
        self.stats = CacheStats()

    def __repr__(self) -> str:
        return (
            f"ResponseCache(backend={self.backend!r}, semantic={self.semantic}, "
            f"threshold={self.threshold})"
        )

    # -- parts -------------------------------------------------------------------------------

    @property
    def embedder(self) -> CachedEmbedder:
        """The embedder, with recent texts' vectors kept (built on first use)."""
        if self._cached is None:
            self._cached = CachedEmbedder(self._embedder or default_embedder())
        return self._cached

    def namespace_of(self, request: ModelRequest) -> str | None:
        """The namespace ``request`` is cached in (``None``: it bypasses the cache)."""
        if self.namespace_tags:
            parts = []
            for tag in self.namespace_tags:
                value = request.tag(tag)
                if value is None:
                    return None
                parts.append(f"{tag}={value}")
            return "|".join(parts)
        if callable(self.namespace):
            return self.namespace(request)
        return self.namespace

    # -- lookup and store ----------------------------------------------------------------------

    def lookup(self, request: ModelRequest, namespace: str | None = None) -> CacheHit | None:
        """The cached answer for ``request``, else ``None`` (no call is made)."""
        ns = namespace if namespace is not None else self.namespace_of(request)
        if ns is None or self.rules.skip_request(request) is not None:
            return None
        hit = self._lookup(request, ns)[0]
        self._count(hit)
        return hit

    def _count(self, hit: CacheHit | None) -> None:
        if hit is None:
            self.stats.count("misses")
        else:
            self.stats.count("exact_hits" if hit.outcome == "exact" else "semantic_hits")

    def _lookup(
        self, request: ModelRequest, ns: str
    ) -> tuple[CacheHit | None, str, str | None, bytes | None]:
        now = self.clock()
        key = exact_key(request)
        entry = self.backend.get(ns, key, now=now)
        if entry is not None:
            return CacheHit(entry, "exact", 1.0), key, None, None
        text = semantic_text(request) if self.semantic else None
        if text is None:
            return None, key, None, None
        scope = scope_key(request, history=self.history)
        vector = self.embedder.vector(text)
        for found, similarity in self.backend.search(ns, scope, vector, self.candidates):
            if similarity < self.threshold:
                break
            candidate = self.backend.get(ns, found, now=now)
            if candidate is None or candidate.namespace != ns or candidate.scope != scope:
                continue
            rejected = check_guards(self.guards, text, candidate.text or "")
            if rejected is not None:
                self.stats.count("guarded", rejected)
                continue
            return CacheHit(candidate, "semantic", min(similarity, 1.0)), key, scope, vector
        return None, key, scope, vector

    def store(
        self,
        request: ModelRequest,
        response: ModelResponse,
        *,
        namespace: str | None = None,
        key: str | None = None,
        scope: str | None = None,
        vector: bytes | None = None,
        extra: dict[str, Any] | None = None,
    ) -> bool:
        """Store ``response`` (complete) as the answer to ``request``; whether it was stored.
        ``extra``: more JSON kept with the answer (an integration's own serialization)."""
        ns = namespace if namespace is not None else self.namespace_of(request)
        if ns is None:
            return False
        reason = self.rules.skip_request(request) or self.rules.skip_answer(response, None)
        if reason is not None:
            self.stats.count("not_stored", reason)
            return False
        text = semantic_text(request) if self.semantic else None
        if text is not None:
            scope = scope or scope_key(request, history=self.history)
            vector = vector or self.embedder.vector(text)
        now = self.clock()
        self.backend.put(
            CacheEntry(
                namespace=ns,
                key=key or exact_key(request),
                scope=scope or scope_key(request, history=self.history),
                answer=answer_of(response) | (extra or {}),
                text=text,
                vector=vector if text is not None else None,
                created=now,
                expires=None if self.ttl is None else now + self.ttl,
            )
        )
        self.stats.count("stored")
        return True

    def invalidate(self, namespace: str, key: str | None = None) -> int:
        """Forget one entry (``key``: an exact key, :func:`tokenomy.cache.exact_key`) or a
        whole namespace; how many entries went."""
        if key is not None:
            return int(self.backend.delete(namespace, key))
        return self.backend.invalidate(namespace)

    # -- the policy ------------------------------------------------------------------------

    def _replay(self, request: ModelRequest, hit: CacheHit) -> ModelResponse:
        from tokenomy.ledger._record import CacheInfo

        self._count(hit)
        info = CacheInfo(outcome=hit.outcome, similarity=round(hit.similarity, 6))  # type: ignore[arg-type]
        return ModelResponse.replay(response_of(hit.entry.answer), stream=request.stream, cache=info)

    def _begin(self, request: ModelRequest) -> tuple[str | None, Any]:
        ns = self.namespace_of(request)
        if ns is None:
            self.stats.count("bypassed", "no_namespace")
            return None, None
        reason = self.rules.skip_request(request)
        if reason is not None:
            self.stats.count("bypassed", reason)
            return None, None
        return ns, self._lookup(request, ns)

    def _after_miss(self, request: ModelRequest, response: ModelResponse, ns: str, found: Any) -> None:
        self._count(None)
        _, key, scope, vector = found

        def stored(resp: ModelResponse, error: BaseException | None) -> None:
            if error is not None:
                self.stats.count("not_stored", "error")
                return
            try:
                self.store(request, resp, namespace=ns, key=key, scope=scope, vector=vector)
            except Exception as exc:  # a cache that cannot store never fails the call
                self.stats.count("not_stored", type(exc).__name__)

        response.on_complete(stored)

    def handle(self, request: ModelRequest, call_next: CallNext) -> ModelResponse:
        ns, found = self._begin(request)
        if ns is None:
            return call_next(request)
        if found[0] is not None:
            return self._replay(request, found[0])
        response = call_next(request)
        self._after_miss(request, response, ns, found)
        return response

    async def ahandle(self, request: ModelRequest, call_next: AsyncCallNext) -> ModelResponse:
        # the lookup may embed (milliseconds) or ask a server: off the event loop
        ns, found = await asyncio.to_thread(self._begin, request)
        if ns is None:
            return await call_next(request)
        if found[0] is not None:
            return self._replay(request, found[0])
        response = await call_next(request)
        self._after_miss(request, response, ns, found)
        return response
