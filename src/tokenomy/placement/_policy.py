"""``CachePlacement``: a pipeline policy that marks prompt-cache breakpoints where they pay.

Anthropic requests (provider ``anthropic`` or a ``claude`` model) get up to four
``cache_control`` breakpoints chosen by :func:`tokenomy.placement._plan.choose`, written in the
request's OpenAI-shape messages the way LangChain and the batch runner pass them to Anthropic:
a content part ``{"type": "text", "text": ..., "cache_control": {"type": "ephemeral"}}`` (with
``"ttl": "1h"`` for the hour), on the system message, a document part, or the last message
before the new turn; or on the last tool when there is no system prompt. A request that already
carries ``cache_control`` is left as the caller wrote it. Each sending is observed in the
:class:`ReuseSource` (default in-process) so the next decision knows the gaps.

Each record of a placed request carries tags: ``cache_placed`` (``system:1h,document:5m``),
and from the provider's answer ``cache_read_key`` (the breakpoint read) and
``cache_write_keys`` (``key:tokens`` of the breakpoints written), from which
:func:`tokenomy.placement.unread_cache_writes` finds the writes never read.

OpenAI caches repeated prefixes by itself; what stops it is a prefix that changes. For other
requests the policy only watches: per feature, the digest of each prompt's first ~1,024 tokens;
:meth:`CachePlacement.volatile_prefixes` lists features whose long prompts changed prefix on
every call (logged once per feature).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tokenomy.pipeline import ModelRequest, Policy
from tokenomy.placement._plan import (
    TTL_SECONDS,
    Breakpoint,
    Rates,
    candidates,
    choose,
)
from tokenomy.placement._reuse import InProcessReuse, ReuseSource

__all__ = ["CachePlacement", "PrefixChurn"]

_log = logging.getLogger("tokenomy.placement")
_PREFIX_CHARS = 4096  # about 1,024 tokens: what OpenAI's automatic cache needs to match


@dataclass(frozen=True, slots=True)
class PrefixChurn:
    """A feature whose long prompts start differently on (nearly) every call."""

    feature: str
    calls: int
    distinct: int


def _has_cache_control(value: Any) -> bool:
    if isinstance(value, Mapping):
        return "cache_control" in value or any(_has_cache_control(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_cache_control(v) for v in value)
    return False


def _control(ttl: str) -> dict[str, str]:
    return {"type": "ephemeral", "ttl": "1h"} if ttl == "1h" else {"type": "ephemeral"}


def _marked(part: Any, ttl: str) -> dict[str, Any]:
    block = dict(part) if isinstance(part, Mapping) else {"type": "text", "text": str(part)}
    block["cache_control"] = _control(ttl)
    return block


class CachePlacement(Policy):
    """Place prompt-cache breakpoints where the expected reuse pays (module docstring).

    ``reuse``: the evidence (default :class:`InProcessReuse`, fed by this policy); ``clock``:
    seconds (default ``time.time``); ``rates``: cache prices relative to input (Anthropic's by
    default); ``document_tokens``: a user content part at least this long is a document
    candidate; ``minimum``: the shortest prefix marked (default: the model's published
    minimum, :func:`min_cacheable_tokens`)."""

    name = "cache_placement"

    def __init__(
        self,
        *,
        reuse: ReuseSource | None = None,
        clock: Callable[[], float] = time.time,
        rates: Rates | None = None,
        document_tokens: int = 512,
        minimum: int | None = None,
        window: int = 20,
    ) -> None:
        self.reuse = reuse if reuse is not None else InProcessReuse()
        self.clock = clock
        self.rates = rates or Rates()
        self.document_tokens = document_tokens
        self.minimum = minimum
        self._lock = threading.Lock()
        self._alive: dict[str, tuple[float, str]] = {}
        self._prefixes: dict[str, deque[str]] = {}
        self._window = window
        self._warned: set[str] = set()
        #: breakpoints placed so far, by kind and lifetime (``"system:1h"`` -> count)
        self.placed: dict[str, int] = {}

    # -- the policy ----------------------------------------------------------------------------

    def before(self, request: ModelRequest) -> ModelRequest:
        if request.kind != "chat" or not request.messages or not request.model:
            return request
        if request.provider == "anthropic" or "claude" in request.model.lower():
            return self._place(request)
        self._watch(request)
        return request

    def _count(self, model: str) -> Callable[[str], int]:
        from tokenomy.tokens import count_text

        return lambda text: count_text(text, model)

    def _place(self, request: ModelRequest) -> ModelRequest:
        model = request.model or ""
        if _has_cache_control(list(request.messages)) or _has_cache_control(list(request.tools)):
            return request
        found = candidates(
            model,
            request.messages,
            request.tools,
            count=self._count(model),
            document_tokens=self.document_tokens,
        )
        now = self.clock()
        with self._lock:
            alive = dict(self._alive)
        chosen = choose(
            found,
            model=model,
            provider=request.provider,
            reuse=self.reuse,
            alive=alive,
            now=now,
            rates=self.rates,
            minimum=self.minimum,
        )
        for family in dict.fromkeys(c.family for c in found):
            self.reuse.observe(family, now)
        if not chosen:
            return request
        with self._lock:
            for b in chosen:
                self._alive[b.candidate.key] = (now + TTL_SECONDS[b.ttl], b.ttl)
                label = f"{b.candidate.kind}:{b.ttl}"
                self.placed[label] = self.placed.get(label, 0) + 1
            if len(self._alive) > 10_000:
                self._alive = {k: v for k, v in self._alive.items() if v[0] > now}
        changed = _apply(request, chosen)
        tags = {"cache_placed": ",".join(f"{b.candidate.kind}:{b.ttl}" for b in chosen)}
        return changed.replace(annotate=_annotator(chosen, request.annotate)).with_tags(**tags)

    # -- OpenAI: watching the prefix -----------------------------------------------------------

    def _watch(self, request: ModelRequest) -> None:
        parts = [json.dumps(list(request.tools), sort_keys=True, default=str)]
        for m in request.messages:
            content = m.get("content")
            parts.append(
                f"<{m.get('role')}>{content if isinstance(content, str) else json.dumps(content, default=str)}"
            )
        text = "\n".join(parts)
        if len(text) < _PREFIX_CHARS:
            return
        digest = hashlib.sha256(text[:_PREFIX_CHARS].encode()).hexdigest()[:16]
        feature = request.tag("feature") or "-"
        with self._lock:
            seen = self._prefixes.setdefault(feature, deque(maxlen=self._window))
            seen.append(digest)
            churn = len(seen) >= 3 and len(set(seen)) == len(seen)
            first = churn and feature not in self._warned
            if first:
                self._warned.add(feature)
        if first:
            _log.warning(
                "tokenomy: feature %r sent %d long prompts whose first ~1,024 tokens differ "
                "every time, so the provider's prompt cache cannot hit: put the stable part "
                "(system prompt, tools, documents) first and the changing part last",
                feature,
                len(seen),
            )

    def volatile_prefixes(self) -> list[PrefixChurn]:
        """Features whose last long prompts (at least three) each started differently."""
        with self._lock:
            return [
                PrefixChurn(f, len(seen), len(set(seen)))
                for f, seen in self._prefixes.items()
                if len(seen) >= 3 and len(set(seen)) == len(seen)
            ]


def _apply(request: ModelRequest, chosen: list[Breakpoint]) -> ModelRequest:
    messages = [dict(m) for m in request.messages]
    params = dict(request.params)
    for b in chosen:
        where, ttl = b.candidate.where, b.ttl
        if where[0] == "tools":
            tools = [dict(t) for t in params.get("tools") or ()]
            tools[-1]["cache_control"] = _control(ttl)
            params["tools"] = tools
        elif where[0] in ("system", "message"):
            m = messages[where[1]]
            content = m.get("content")
            parts = (
                list(content)
                if isinstance(content, list)
                else [{"type": "text", "text": str(content or "")}]
            )
            parts[-1] = _marked(parts[-1], ttl)
            m["content"] = parts
        else:
            m = messages[where[1]]
            parts = list(m.get("content") or ())
            parts[where[2]] = _marked(parts[where[2]], ttl)
            m["content"] = parts
    return request.replace(messages=messages, params=params)


def _annotator(
    chosen: list[Breakpoint], inner: Callable[[Any], Mapping[str, Any]] | None
) -> Callable[[Any], Mapping[str, Any]]:
    def annotate(response: Any) -> Mapping[str, Any]:
        tags: dict[str, Any] = dict(inner(response)) if inner is not None else {}
        usage = getattr(response, "usage", None)
        if usage is None:
            return tags
        read = usage.cache_read
        written = usage.cache_write_5m + usage.cache_write_1h
        read_upto = 0
        if read:
            hit = min(chosen, key=lambda b: abs(b.candidate.tokens - read))
            tags["cache_read_key"] = hit.candidate.key
            read_upto = hit.candidate.tokens
        if written:
            items: list[str] = []
            previous = read_upto
            for b in chosen:
                if b.candidate.tokens <= read_upto:
                    continue
                items.append(f"{b.candidate.key}:{b.candidate.tokens - previous}")
                previous = b.candidate.tokens
            if items:
                tags["cache_write_keys"] = ";".join(items)
        return tags

    return annotate
