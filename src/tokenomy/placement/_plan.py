"""Where Anthropic ``cache_control`` breakpoints pay, for one request (pure but for the clock
and the reuse evidence it is handed).

The request's prefix, in Anthropic's order (tools, system, then the messages' blocks), has
candidate breakpoints: the end of the tools (when there is no system prompt), the end of the
system prompt, each long content part of a user message (a document) other than the last part,
and the end of the earlier conversation (the message before the last). The last part of the
last message (the new question) never gets one: it changes every call.

For a candidate of kind ``k`` whose prefix has been sent with gaps ``g``: ``p(ttl)`` is the
share of gaps under the lifetime, smoothed towards a prior for the kind; a write is then read
``p / (1 - p)`` times on average (each read refreshes the lifetime: a geometric run). It pays
when ``reads x (1 - read rate) > write rate - 1`` (rates relative to the input price: reads
0.1x, 5-minute writes 1.25x, 1-hour writes 2x). The better lifetime wins; a prefix this policy
knows to be alive in the provider's cache is placed again with its lifetime (a read costs no
write). 1-hour breakpoints must precede 5-minute ones; at most four are kept (the largest
expected savings); a prefix shorter than the model's minimum is never marked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tokenomy.placement._minimums import min_cacheable_tokens
from tokenomy.placement._reuse import ReuseSource, ReuseStats

__all__ = ["Breakpoint", "Candidate", "Rates", "candidates", "choose", "expected_reads"]

TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
#: prior share of reuse within a lifetime, by kind, before any gap is seen
PRIORS = {"tools": 0.6, "system": 0.6, "document": 0.4, "conversation": 0.6}
_PRIOR_WEIGHT = 2.0
_MAX_READS = 20.0
MAX_BREAKPOINTS = 4


@dataclass(frozen=True, slots=True)
class Rates:
    """Cache prices relative to the input price (Anthropic's published multipliers)."""

    read: float = 0.1
    write_5m: float = 1.25
    write_1h: float = 2.0

    def write(self, ttl: str) -> float:
        return self.write_1h if ttl == "1h" else self.write_5m


@dataclass(frozen=True, slots=True)
class Candidate:
    """A place a breakpoint could go: ``where`` = ("tools",), ("system", i) (message index),
    ("message", i) (the whole message), ("part", i, j) (content part j of message i)."""

    kind: str
    where: tuple[Any, ...]
    tokens: int  # the prefix's tokens up to and including this block
    key: str  # the exact prefix
    family: str  # the reuse evidence's key (the prefix, or the conversation for its history)


@dataclass(frozen=True, slots=True)
class Breakpoint:
    """A chosen breakpoint: the candidate, its lifetime, and why."""

    candidate: Candidate
    ttl: str
    gain: float  # expected saving in input-token units (tokens x relative price)
    alive: bool  # already in the provider's cache by this policy's account


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _strip(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _strip(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("text"), str):
        return str(value["text"])
    return json.dumps(_strip(value), ensure_ascii=False, default=str)


def candidates(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]],
    *,
    count: Any,
    document_tokens: int = 512,
) -> list[Candidate]:
    """Every candidate breakpoint of a request, in prefix order (``count(text) -> tokens``)."""
    out: list[Candidate] = []
    chain = hashlib.sha256(model.encode())
    total = 0
    if tools:
        for tool in tools:
            chain.update(_digest(_strip(tool)).encode())
            total += count(json.dumps(_strip(tool), ensure_ascii=False, default=str))
    system = [i for i, m in enumerate(messages) if m.get("role") in ("system", "developer")]
    if tools and not system:
        key = chain.copy().hexdigest()[:16]
        out.append(Candidate("tools", ("tools",), total, key, key))
    for i in system:
        chain.update(_digest(_strip(messages[i].get("content"))).encode())
        total += count(_text(messages[i].get("content")))
    if system:
        key = chain.copy().hexdigest()[:16]
        out.append(Candidate("system", ("system", system[-1]), total, key, key))
    turns = [i for i, m in enumerate(messages) if i not in system]
    if not turns:
        return out
    family = _digest(
        [model, [_strip(messages[i].get("content")) for i in system], _strip(messages[turns[0]])]
    )
    last = turns[-1]
    for i in turns:
        message = messages[i]
        content = message.get("content")
        parts = content if isinstance(content, list) else None
        if parts is not None:
            for j, part in enumerate(parts):
                chain.update(_digest([message.get("role"), _strip(part)]).encode())
                size = count(_text(part))
                total += size
                is_doc = (
                    message.get("role") == "user"
                    and size >= document_tokens
                    and j < len(parts) - 1
                    and isinstance(part, Mapping)
                    and part.get("type", "text") == "text"
                )
                if is_doc:
                    key = chain.copy().hexdigest()[:16]
                    out.append(Candidate("document", ("part", i, j), total, key, key))
        else:
            chain.update(
                _digest([message.get("role"), _strip(content), message.get("tool_calls")]).encode()
            )
            total += count(_text(content or "")) + 4
        if (
            i == turns[-2 if len(turns) > 1 else 0]
            and i != last
            and isinstance(content, str)
            and content
        ):
            key = chain.copy().hexdigest()[:16]
            out.append(Candidate("conversation", ("message", i), total, key, family))
    return out


def expected_reads(stats: ReuseStats, ttl: str, kind: str) -> float:
    """How many reads one write of a prefix with these ``stats`` gets, on average."""
    prior = PRIORS.get(kind, 0.5)
    n = len(stats.gaps)
    seen = sum(1 for g in stats.gaps if g < TTL_SECONDS[ttl])
    p = (seen + _PRIOR_WEIGHT * prior) / (n + _PRIOR_WEIGHT)
    p = min(p, 0.99)
    return min(p / (1.0 - p), _MAX_READS)


def choose(
    found: Sequence[Candidate],
    *,
    model: str,
    provider: str | None,
    reuse: ReuseSource,
    alive: Mapping[str, tuple[float, str]],
    now: float,
    rates: Rates = Rates(),
    minimum: int | None = None,
) -> list[Breakpoint]:
    """The breakpoints worth placing among ``found`` (module docstring). ``alive`` maps a
    prefix key to (expires at, lifetime) as this policy last left it."""
    floor = min_cacheable_tokens(model, provider) if minimum is None else minimum
    chosen: list[Breakpoint] = []
    previous_tokens = 0
    allow_1h = True
    for cand in found:
        if cand.tokens < floor:
            continue
        increment = max(cand.tokens - previous_tokens, 1)
        held = alive.get(cand.key)
        if held is not None and held[0] > now and (held[1] == "5m" or allow_1h):
            gain = increment * (1.0 - rates.read)
            chosen.append(Breakpoint(cand, held[1], gain, True))
            previous_tokens = cand.tokens
            allow_1h = allow_1h and held[1] == "1h"
            continue
        stats = reuse.stats(cand.family)
        best: tuple[float, str] | None = None
        for ttl in ("1h", "5m") if allow_1h else ("5m",):
            reads = expected_reads(stats, ttl, cand.kind)
            value = reads * (1.0 - rates.read) - (rates.write(ttl) - 1.0)
            if value > 0 and (best is None or value > best[0]):
                best = (value, ttl)
        if best is None:
            continue
        chosen.append(Breakpoint(cand, best[1], best[0] * increment, False))
        previous_tokens = cand.tokens
        allow_1h = allow_1h and best[1] == "1h"
    if len(chosen) > MAX_BREAKPOINTS:
        keep = sorted(chosen, key=lambda b: -b.gain)[:MAX_BREAKPOINTS]
        chosen = [b for b in chosen if b in keep]
    return chosen
