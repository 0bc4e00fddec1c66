"""Simulated provider prompt caching, keyed per simulator instance.

OpenAI (automatic): a prompt whose first ``k`` tokens match a prompt seen before for the same
model reports ``cached_tokens = k``, for the largest such ``k`` that is a multiple of 128 and at
least 1,024. The prompt is tokenized from a canonical rendering (tools, then messages in order),
so changing the end of a conversation keeps its start cached, and changing the tools does not.

Anthropic (explicit): ``cache_control`` breakpoints on ``tools``, ``system`` and message
content blocks, in that prefix order. A request reads the longest cached prefix ending at a
block boundary at or up to 20 blocks before one of its breakpoints; each later breakpoint whose
prefix holds at least 1,024 tokens writes the tokens between the previous boundary and itself,
at its own lifetime (``"5m"``, or ``"1h"`` with ``"ttl": "1h"``). Entries expire after their
lifetime (5 minutes for OpenAI), refreshed on every hit. The minimum is 1,024 tokens, or with
``min_tokens="model"`` each model's published minimum (``tokenomy.placement``). Time is the
``clock`` given (a :class:`~tokenomy.testing.FakeClock` expires entries without sleeping).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tokenomy.testing._request import content_text

__all__ = ["AnthropicCacheResult", "PromptCache", "render_openai_prompt"]

_LOOKBACK_BLOCKS = 20
_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True, slots=True)
class AnthropicCacheResult:
    """Prompt tokens read from / written to the simulated Anthropic cache."""

    read: int = 0
    write_5m: int = 0
    write_1h: int = 0


class PromptCache:
    """The prompt caches of one simulator (thread-safe)."""

    def __init__(
        self,
        *,
        min_tokens: int | str = 1024,
        increment: int = 128,
        openai_ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        #: the shortest cacheable prefix; ``"model"``: each model's published minimum
        self.min_tokens = min_tokens
        self.increment = increment
        self.openai_ttl = openai_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, float]] = {}  # key -> (expires_at, lifetime)

    def reset(self) -> None:
        """Forget every cached prefix."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def minimum(self, model: str, provider: str) -> int:
        """The shortest cacheable prefix for ``model``."""
        if isinstance(self.min_tokens, int):
            return self.min_tokens
        from tokenomy.placement._minimums import min_cacheable_tokens

        return min_cacheable_tokens(model, provider)

    def _alive(self, key: str, now: float) -> bool:
        entry = self._entries.get(key)
        if entry is None:
            return False
        if entry[0] <= now:
            del self._entries[key]
            return False
        return True

    # -- OpenAI: automatic prefix caching ------------------------------------------------

    def openai_cached_tokens(self, model: str, tokens: list[int], prompt_tokens: int) -> int:
        """Cached tokens of a prompt whose canonical rendering tokenizes to ``tokens``."""
        step = self.increment
        minimum = self.minimum(model, "openai")
        chain = hashlib.sha256(f"openai\0{model}".encode())
        keys: list[tuple[int, str]] = []
        for end in range(step, len(tokens) + 1, step):
            chain.update(b"".join(t.to_bytes(4, "little") for t in tokens[end - step : end]))
            if end >= minimum:
                keys.append((end, chain.copy().hexdigest()))
        now = self._clock()
        cached = 0
        with self._lock:
            for end, key in reversed(keys):
                if self._alive(key, now):
                    cached = end
                    break
            for _end, key in keys:
                self._entries[key] = (now + self.openai_ttl, self.openai_ttl)
        cap = (prompt_tokens // step) * step
        cached = min(cached, cap)
        return cached if cached >= minimum else 0

    # -- Anthropic: explicit cache_control breakpoints ------------------------------------

    def anthropic(
        self,
        body: Mapping[str, Any],
        prompt_tokens: int,
        estimate: Callable[[Mapping[str, Any]], int],
    ) -> AnthropicCacheResult:
        """Cache reads and writes of an Anthropic request; ``estimate`` counts a prefix body."""
        blocks = _flatten(body)
        breakpoints = [i for i, b in enumerate(blocks) if b.ttl is not None]
        if not breakpoints:
            return AnthropicCacheResult()
        model = str(body.get("model") or "")
        minimum = self.minimum(model, "anthropic")
        keys = {i: _prefix_key(model, body, blocks[i]) for i in range(breakpoints[-1] + 1)}
        candidates = sorted(
            {i for b in breakpoints for i in range(max(0, b - _LOOKBACK_BLOCKS + 1), b + 1)},
            reverse=True,
        )
        now = self._clock()
        counts: dict[int, int] = {}

        def tokens_at(i: int) -> int:
            if i not in counts:
                counts[i] = min(estimate(_prefix_body(body, blocks[i])), prompt_tokens)
            return counts[i]

        with self._lock:
            hit = next((i for i in candidates if self._alive(keys[i], now)), None)
            read = tokens_at(hit) if hit is not None else 0
            if hit is not None:
                lifetime = self._entries[keys[hit]][1]
                self._entries[keys[hit]] = (now + lifetime, lifetime)
            boundary = read
            written = {"5m": 0, "1h": 0}
            for b in breakpoints:
                ttl_name = blocks[b].ttl or "5m"
                if hit is not None and b <= hit:
                    continue
                size = tokens_at(b)
                if size < minimum or size <= boundary:
                    continue
                written[ttl_name] += size - boundary
                boundary = size
                self._entries[keys[b]] = (now + _TTL_SECONDS[ttl_name], _TTL_SECONDS[ttl_name])
        return AnthropicCacheResult(read=read, write_5m=written["5m"], write_1h=written["1h"])


@dataclass(frozen=True, slots=True)
class _Block:
    section: str  # "tools" | "system" | "messages"
    index: int  # tool / system block / message index
    part: int  # content block index within the message (-1: whole string content)
    ttl: str | None  # breakpoint lifetime, None when the block has no cache_control


def _ttl(block: Any) -> str | None:
    if not isinstance(block, Mapping):
        return None
    control = block.get("cache_control")
    if not isinstance(control, Mapping) or control.get("type", "ephemeral") != "ephemeral":
        return None
    return "1h" if control.get("ttl") == "1h" else "5m"


def _flatten(body: Mapping[str, Any]) -> list[_Block]:
    blocks: list[_Block] = []
    for i, tool in enumerate(body.get("tools") or ()):
        blocks.append(_Block("tools", i, -1, _ttl(tool)))
    system = body.get("system")
    if isinstance(system, list):
        for i, block in enumerate(system):
            blocks.append(_Block("system", i, -1, _ttl(block)))
    elif system:
        blocks.append(_Block("system", 0, -1, None))
    for m, message in enumerate(body.get("messages") or ()):
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, list):
            for k, block in enumerate(content):
                blocks.append(_Block("messages", m, k, _ttl(block)))
        else:
            blocks.append(_Block("messages", m, -1, None))
    return blocks


def _prefix_body(body: Mapping[str, Any], block: _Block) -> dict[str, Any]:
    tools = list(body.get("tools") or ())
    system = body.get("system")
    messages = list(body.get("messages") or ())
    out: dict[str, Any] = {"model": body.get("model"), "messages": []}
    if block.section == "tools":
        out["tools"] = tools[: block.index + 1]
        return out
    if tools:
        out["tools"] = tools
    if block.section == "system":
        out["system"] = system[: block.index + 1] if isinstance(system, list) else system
        return out
    if system:
        out["system"] = system
    head = messages[: block.index]
    last = dict(messages[block.index])
    if block.part >= 0:
        last["content"] = list(last.get("content") or [])[: block.part + 1]
    out["messages"] = [*head, last]
    return out


def _strip_cache_control(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _strip_cache_control(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_strip_cache_control(v) for v in value]
    return value


def _as_blocks(content: Any) -> Any:
    # Anthropic renders a string content and one text block alike: key them alike
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _prefix_key(model: str, body: Mapping[str, Any], block: _Block) -> str:
    prefix = _strip_cache_control(_prefix_body(body, block))
    if "system" in prefix:
        prefix["system"] = _as_blocks(prefix["system"])
    prefix["messages"] = [
        {**m, "content": _as_blocks(m.get("content"))} if isinstance(m, Mapping) else m
        for m in prefix["messages"]
    ]
    text = json.dumps(prefix, sort_keys=True, ensure_ascii=False, default=str)
    return "anthropic\0" + hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


def render_openai_prompt(body: Mapping[str, Any], api: str) -> str:
    """The canonical text OpenAI-style prefix caching tokenizes: tools first, then turns."""
    parts: list[str] = []
    for tool in body.get("tools") or ():
        parts.append("<tool>" + json.dumps(tool, sort_keys=True, ensure_ascii=False))
    if body.get("response_format"):
        parts.append("<format>" + json.dumps(body["response_format"], sort_keys=True))
    if api == "responses":
        if body.get("instructions"):
            parts.append("<developer>\n" + content_text(body["instructions"]))
        items = body.get("input")
        items = [{"role": "user", "content": items}] if isinstance(items, str) else items or []
    else:
        items = body.get("messages") or []
    for item in items:
        if isinstance(item, Mapping) and "role" in item and "content" in item:
            text = content_text(item.get("content"))
            extra = {k: v for k, v in item.items() if k not in ("role", "content", "type")}
            tail = json.dumps(extra, sort_keys=True, ensure_ascii=False) if extra else ""
            parts.append(f"<{item['role']}>\n{text}{tail}")
        else:
            parts.append("<item>" + json.dumps(item, sort_keys=True, ensure_ascii=False))
    return "\n".join(parts)
