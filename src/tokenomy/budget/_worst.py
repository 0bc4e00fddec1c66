"""The worst case of one call, before it is sent: an upper bound on its prompt tokens and the
rates its output can be billed at.

* Prompt tokens are counted with the real tokenizer (:mod:`tokenomy.tokens`). The count is
  exact for plain-text OpenAI chat requests to OpenAI models (plus :data:`EXACT_SLACK`);
  anything else is an estimate (tools, images, schemas, Anthropic requests, a non-OpenAI model
  over the OpenAI wire, whose tokenizer is unknown), and is raised by the budget's margin:
  ``ceil(count * (1 + margin)) + MARGIN_TOKENS``, and for dense text (see
  :data:`DENSE_TEXT`) to one token per two bytes. When counting fails the bound is the UTF-8
  size of the request (a BPE token is at least one byte). The rules are checked against the
  shared cassettes (``tests/budget/test_budget_cassettes.py``).
* Input is priced at the model's input rate, or its dearest cache-write rate when the
  request asks for prompt caching (``cache_control``), at the long-context tier the bound
  reaches; every output token at the dearer of the output and reasoning rates (reasoning
  tokens count in ``max_tokens``), plus any per-request fee.
* The output limit is the caller's ``max_tokens``, else the model's own (``max_output_tokens``
  in the installed litellm's model map, read as a file), else :data:`FALLBACK_OUTPUT_LIMIT`.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from tokenomy.budget._store import to_nanos
from tokenomy.pipeline._request import ModelRequest
from tokenomy.pricing import ModelPrice, PriceBook

__all__ = ["FALLBACK_OUTPUT_LIMIT", "MARGIN_TOKENS", "Worst", "model_output_limit", "worst_case"]

#: Tokens added to an estimated prompt count on top of the proportional margin.
MARGIN_TOKENS = 16
#: Tokens added to an exact count: it follows the chat-completions wire, and the same
#: conversation sent over the Responses API was billed up to one token more (shared cassettes).
EXACT_SLACK = 4
#: Text whose estimate packs more than this many UTF-8 bytes into a token (English prose is
#: about 4; long runs of one character 5-8) is where tokenizers part most: on the shared
#: cassettes Claude billed 2.4-3 bytes per token for such text, 1.5-2.7x the estimate. Such a
#: prompt's bound is raised to one token per :data:`DENSE_BYTES_PER_TOKEN` bytes.
DENSE_TEXT = 5.0
DENSE_BYTES_PER_TOKEN = 2
#: The output limit of a model whose own is unknown and whose caller set none.
FALLBACK_OUTPUT_LIMIT = 8192
_PICO = Decimal(10) ** 12
_OPENAI_PREFIXES = (
    "gpt-", "o1", "o3", "o4", "chatgpt-", "codex", "computer-use", "ft:gpt", "text-embedding-",
)


@dataclass(frozen=True, slots=True)
class Worst:
    """The worst case of one call on one model (see the module docstring)."""

    model: str
    prompt_tokens: int
    counted: int
    estimated: bool
    fixed_nanos: int
    rate_pico: int
    output_limit: int

    def nanos(self, out_tokens: int) -> int:
        return self.fixed_nanos + -(-out_tokens * self.rate_pico // 1000)


def _is_openai_model(model: str) -> bool:
    name = model.lower().rsplit("/", 1)[-1]
    return name.startswith(_OPENAI_PREFIXES)


def _has_cache_control(value: Any) -> bool:
    if isinstance(value, dict):
        return "cache_control" in value or any(_has_cache_control(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_cache_control(v) for v in value)
    return False


def prompt_count(request: ModelRequest, model: str) -> tuple[int, bool]:
    """``(prompt tokens, estimated)`` of ``request`` sent to ``model``."""
    from tokenomy.tokens import count_text, estimate_call, estimate_messages

    try:
        if request.kind == "embedding":
            return _embedding_inputs(request, model), not _is_openai_model(model)
        if request.kind == "completion" or (request.prompt is not None and not request.messages):
            return count_text(request.prompt or "", model), not _is_openai_model(model)
        provider = (request.provider or "").lower()
        if provider == "anthropic" or "claude" in model.lower():
            usage = estimate_call(
                list(request.messages), None, model=model, provider="anthropic",
                tools=list(request.tools) or None,
            )
            if usage.input > 0 or not request.messages:
                return usage.input, True
            raise ValueError("the Anthropic estimate counted nothing")
        fmt = request.params.get("response_format")
        est = estimate_messages(
            list(request.messages),
            model,
            tools=list(request.tools) or None,
            response_format=fmt if isinstance(fmt, dict) else None,
        )
        return est.prompt_tokens, est.estimated or not _is_openai_model(model)
    except Exception:
        body = json.dumps(
            [list(request.messages), request.prompt, list(request.tools)],
            ensure_ascii=False,
            default=str,
        )
        return len(body.encode()), True


def _embedding_inputs(request: ModelRequest, model: str) -> int:
    """Tokens of an embeddings call's ``params["input"]`` (texts, or lists of token ids)."""
    from tokenomy.tokens import count_text

    value = request.params.get("input")
    if value is None and request.prompt is not None:
        value = request.prompt
    items = [value] if isinstance(value, str) else list(value or ())
    if items and all(isinstance(i, int) for i in items):
        return len(items)  # one input given as token ids
    total = 0
    for item in items:
        if isinstance(item, str):
            total += count_text(item, model)
        elif isinstance(item, list | tuple):
            total += len(item)
        else:
            raise ValueError(f"cannot count an embeddings input of type {type(item).__name__}")
    return total


def _text_bytes(request: ModelRequest) -> int:
    total = len((request.prompt or "").encode())
    for message in request.messages:
        content = message.get("content")
        if isinstance(content, str):
            total += len(content.encode())
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += len(part["text"].encode())
    return total


def prompt_bound(request: ModelRequest, counted: int, estimated: bool, margin: float) -> int:
    """The most prompt tokens a provider can bill for ``request`` (module docstring)."""
    if not estimated:
        return counted + EXACT_SLACK
    bound = math.ceil(counted * (1 + margin)) + MARGIN_TOKENS
    size = _text_bytes(request)
    if counted and size / counted > DENSE_TEXT:
        bound = max(bound, math.ceil(size / DENSE_BYTES_PER_TOKEN) + MARGIN_TOKENS)
    return bound


def worst_case(
    request: ModelRequest,
    model: str,
    price: ModelPrice | None,
    *,
    margin: float,
    output_limit: int | None,
) -> Worst:
    """The :class:`Worst` of ``request`` on ``model`` (``price`` None: a token budget only)."""
    counted, estimated = prompt_count(request, model)
    bound = prompt_bound(request, counted, estimated, margin)
    limit = output_limit or FALLBACK_OUTPUT_LIMIT
    if price is None:
        return Worst(model, bound, counted, estimated, 0, 0, limit)
    tier = request.params.get("service_tier")
    price = price.for_service_tier(tier if isinstance(tier, str) else None)
    inp, out = price.input, price.output
    writes = (price.cache_write_5m, price.cache_write_1h)
    for ctx in price.context_tiers:
        if bound > ctx.above:
            inp, out = ctx.input, ctx.output
            writes = (ctx.cache_write_5m or writes[0], ctx.cache_write_1h or writes[1])
    if _has_cache_control(list(request.messages)) or _has_cache_control(dict(request.params)):
        inp = max([inp, *(w for w in writes if w is not None)])
    per_out = max(out, price.reasoning or out)
    fixed = to_nanos(inp * bound + price.request)
    rate = int((per_out * _PICO).to_integral_value(ROUND_CEILING))
    return Worst(model, bound, counted, estimated, fixed, rate, limit)


_LIMITS: dict[str, int] = {}
_LIMITS_LOCK = threading.Lock()
_LOADED: list[bool] = []


def model_output_limit(model: str, book: PriceBook, provider: str | None = None) -> int | None:
    """The most output tokens ``model`` generates (litellm's ``max_output_tokens``), or None."""
    if not _LOADED:
        with _LIMITS_LOCK:
            if not _LOADED:
                _LIMITS.update(_read_limits())
                _LOADED.append(True)
    for name in (model, book.resolve(model, provider)):
        if name and name in _LIMITS:
            return _LIMITS[name]
    return None


def _read_limits() -> dict[str, int]:
    try:
        from tokenomy.pricing._snapshot import litellm_price_file

        data = json.loads(litellm_price_file().read_bytes())
    except Exception:  # litellm missing or its file unreadable: limits unknown
        return {}
    out: dict[str, int] = {}
    for key, entry in data.items():
        if not isinstance(entry, dict):
            continue
        value = entry.get("max_output_tokens") or entry.get("max_tokens")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            out[key] = value
    return out
